// The bash completion script (tools/packaging/bash-completion/agentlb), loaded
// the way bash-completion loads it (by the command's name from a completions
// folder), completing command words, options and names from a store.

#include "common/store/store.hpp"
#include "common/util/clock.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace agentlb;
using namespace agentlb::test;

namespace {

const std::filesystem::path kBashCompletion = "/usr/share/bash-completion/bash_completion";

// Bash with bash-completion, a completions folder holding the script under
// each program's name, and the built programs first in PATH.
struct CompletionShell {
    TempDir dir;

    CompletionShell() {
        const auto completions = dir / "user" / "completions";
        std::filesystem::create_directories(completions);
        for (const char* program : {"agentlbctl", "agentlb-mgmt", "agentlb-agent"}) {
            std::filesystem::copy_file(AGENTLB_COMPLETION_SCRIPT, completions / program);
        }
    }

    // What TAB offers at the end of `line` (words split on spaces; a
    // trailing space starts a new, empty word), sorted, one per line.
    CommandResult complete(const std::string& line) const {
        const std::string script = R"(
source )" + kBashCompletion.string() +
                                   R"(
line=$1
read -ra COMP_WORDS <<<"$line"
[[ $line == *" " ]] && COMP_WORDS+=("")
COMP_LINE=$line
COMP_POINT=${#line}
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
__load_completion "${COMP_WORDS[0]}" || { echo "no completion file for ${COMP_WORDS[0]}" >&2; exit 3; }
spec=$(complete -p "${COMP_WORDS[0]}") || exit 4
function=${spec#*-F }
function=${function%% *}
"$function" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
((${#COMPREPLY[@]} == 0)) || printf '%s\n' "${COMPREPLY[@]}" | sort
)";
        const std::string path =
            std::filesystem::path(AGENTLBCTL_PATH).parent_path().string() + ":" +
            std::string(std::getenv("PATH") != nullptr ? std::getenv("PATH") : "/usr/bin:/bin");
        return run_command({"/bin/bash", "--norc", "--noprofile", "-c", script, "complete", line},
                           std::chrono::seconds(20),
                           {{"PATH", path},
                            {"AGENTLB_DB", ""},
                            {"BASH_COMPLETION_USER_DIR", (dir / "user").string()},
                            {"XDG_DATA_DIRS", (dir / "none").string()},
                            {"HOME", dir.path().string()}});
    }

    std::string offered(const std::string& line) const {
        const CommandResult result = complete(line);
        INFO("completing [" << line << "]: " << result.err);
        REQUIRE(result.exit_code == 0);
        return result.out;
    }
};

}  // namespace

TEST_CASE("agentlbctl completion: command words from its --help") {
    if (!std::filesystem::exists(kBashCompletion)) {
        FAIL("bash-completion is not installed (tools/deps.sh lists it)");
    }
    CompletionShell shell;
    CHECK(shell.offered("agentlbctl ho") == "host\n");
    CHECK(shell.offered("agentlbctl host ") == "list\nremove\nset\n");
    CHECK(shell.offered("agentlbctl --json ca r") == "rotate\n");
    CHECK(shell.offered("agentlbctl --db /x.db mgmt ") == "cancel-maintenance\nlist\nmaintenance\n");
    const std::string first = shell.offered("agentlbctl ");
    for (const char* group :
         {"ca\n", "cert\n", "config\n", "db\n", "host\n", "mgmt\n", "preview\n", "status\n"}) {
        CHECK_THAT(first, Catch::Contains(group));
    }
}

TEST_CASE("agentlbctl completion: a command's own options plus the global ones") {
    CompletionShell shell;
    CHECK(shell.offered("agentlbctl status --") == "--db\n--help\n--json\n--version\n--watch\n");
    CHECK(shell.offered("agentlbctl host list --j") == "--json\n");
    CHECK(shell.offered("agentlbctl config list --zone east --") ==
          "--cluster\n--db\n--effective\n--help\n--host\n--json\n--version\n--zone\n");
    CHECK(shell.offered("agentlbctl --") == "--db\n--help\n--json\n--version\n");
    CHECK(shell.offered("agentlbctl preview --algorithm r") == "roundrobin\n");
    // The value of --db is a file, not a command word; after it come the words.
    CHECK(shell.offered("agentlbctl --db /nonexistent/ho") == "");
    CHECK(shell.offered("agentlbctl --db /nonexistent/x.db ho") == "host\n");
}

TEST_CASE("agentlbctl completion: host and server names from the store given with --db") {
    CompletionShell shell;
    const std::string db = (shell.dir / "agentlb.db").string();
    REQUIRE(run_command({AGENTLBCTL_PATH, "--db", db, "ca", "init", "--ca-dir", (shell.dir / "ca").string()})
                .exit_code == 0);
    store::open_sqlite_store(db, store::OpenMode::existing)
        ->register_server("ms1", "127.0.0.1:8250", util::unix_now());
    CHECK(shell.offered("agentlbctl --db " + db + " mgmt maintenance ") == "ms1\n");
    CHECK(shell.offered("agentlbctl mgmt maintenance --db=" + db + " m") == "ms1\n");
    CHECK_THAT(shell.offered("agentlbctl --db " + db + " config get indirect.agent.lb.a"),
               Catch::Equals("indirect.agent.lb.algorithm\n"));
}

TEST_CASE("agentlb-mgmt and agentlb-agent completion: their options from --help") {
    CompletionShell shell;
    CHECK(shell.offered("agentlb-mgmt --ca") == "--ca-dir\n");
    CHECK(shell.offered("agentlb-mgmt --log-level w") == "warn\n");
    CHECK(shell.offered("agentlb-agent --enr") == "--enroll-server\n--enroll-token\n");
    CHECK(shell.offered("agentlb-agent --c") == "--ca-fingerprint\n--config\n");
}
