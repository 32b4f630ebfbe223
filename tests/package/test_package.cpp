// The Debian package and the install rules: cpack builds
// agentlb_<version>_<arch>.deb from this build tree into a temp folder, and
// dpkg-deb reads it back; `cmake --install` goes to a staging folder.
// Needs cpack, dpkg-deb and dpkg-shlibdeps (package dpkg-dev).

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace {

using namespace agentlb::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr auto kPackTimeout = std::chrono::milliseconds(300s);
constexpr auto kToolTimeout = std::chrono::milliseconds(60s);

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::string describe(const CommandResult& result) {
    return "exit " + std::to_string(result.exit_code) + "\n--- stdout\n" + result.out + "\n--- stderr\n" +
           result.err;
}

// Runs a tool found on PATH; throws with its output when it fails.
std::string tool(const std::vector<std::string>& args, std::chrono::milliseconds timeout = kToolTimeout) {
    std::vector<std::string> argv{"/usr/bin/env"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto result = run_command(argv, timeout);
    if (result.exit_code != 0) {
        throw std::runtime_error(args.front() + " failed: " + describe(result));
    }
    return result.out;
}

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.pop_back();
    }
    return text;
}

// The .deb of this build tree, made in a fresh temp folder and unpacked there.
class Package {
public:
    Package() {
        const auto packed = run_command({AGENTLB_CPACK,
                                         "--config",
                                         std::string(AGENTLB_BUILD_DIR) + "/CPackConfig.cmake",
                                         "-B",
                                         dir_.path()},
                                        kPackTimeout);
        if (packed.exit_code != 0) {
            throw std::runtime_error("cpack failed (is dpkg-dev installed?): " + describe(packed));
        }
        for (const auto& entry : fs::directory_iterator(dir_.path())) {
            if (entry.path().extension() == ".deb") {
                debs_.push_back(entry.path());
            }
        }
        if (debs_.size() == 1) {
            tool({"dpkg-deb", "--extract", debs_[0].string(), (dir_ / "root").string()});
            tool({"dpkg-deb", "--control", debs_[0].string(), (dir_ / "control").string()});
        }
    }

    const std::vector<fs::path>& debs() const { return debs_; }
    const fs::path& deb() const { return debs_.at(0); }
    std::string field(const std::string& name) const {
        return trimmed(tool({"dpkg-deb", "--field", deb(), name}));
    }
    std::string contents() const { return tool({"dpkg-deb", "--contents", deb()}); }
    fs::path root() const { return dir_ / "root"; }
    fs::path control() const { return dir_ / "control"; }

private:
    TempDir dir_;
    std::vector<fs::path> debs_;
};

std::string architecture() {
    return trimmed(tool({"dpkg", "--print-architecture"}));
}

// The paths in a `dpkg-deb --contents` listing, "./usr/bin/x" -> "/usr/bin/x".
std::vector<std::string> listed_paths(const std::string& listing) {
    std::vector<std::string> paths;
    std::istringstream lines(listing);
    for (std::string line; std::getline(lines, line);) {
        const auto at = line.find(" ./");
        if (at != std::string::npos) {
            std::string path = line.substr(at + 2);
            if (const auto arrow = path.find(" -> "); arrow != std::string::npos) {
                path.resize(arrow);
            }
            paths.push_back(path);
        }
    }
    return paths;
}

// A shell script without its comment lines (they may mention `systemctl enable`).
std::string without_comments(const std::string& script) {
    std::istringstream lines(script);
    std::string out;
    for (std::string line; std::getline(lines, line);) {
        const auto first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] != '#') {
            out += line + "\n";
        }
    }
    return out;
}

// "a (>= 1), b | c" -> {"a", "b", "c"}
std::vector<std::string> dependency_names(const std::string& depends) {
    std::vector<std::string> names;
    const std::regex name(R"((^|[,|]) *([a-z0-9][a-z0-9.+-]*))");
    for (auto it = std::sregex_iterator(depends.begin(), depends.end(), name); it != std::sregex_iterator();
         ++it) {
        names.push_back((*it)[2].str());
    }
    return names;
}

bool executable(const fs::path& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) == 0111;
}

}  // namespace

TEST_CASE(
    "package: agentlb_VERSION_ARCH.deb holds the binaries and units and examples and docs and nothing else",
    "[package]") {
    Package package;
    REQUIRE(package.debs().size() == 1);
    CHECK(package.deb().filename() == "agentlb_" AGENTLB_VERSION_TEXT "_" + architecture() + ".deb");

    const auto listing = package.contents();
    INFO(listing);
    for (const char* binary : {"agentlb-mgmt", "agentlb-agent", "agentlbctl"}) {
        INFO(binary);
        CHECK(executable(package.root() / "usr/bin" / binary));
        CHECK(listing.find("root/root") != std::string::npos);
    }
    for (const char* file : {"usr/lib/systemd/system/agentlb-mgmt.service",
                             "usr/lib/systemd/system/agentlb-mgmt@.service",
                             "usr/lib/systemd/system/agentlb-agent.service",
                             "usr/share/agentlb/examples/mgmt.conf",
                             "usr/share/agentlb/examples/agent.env",
                             "usr/share/agentlb/monitoring/agentlb.rules.yml",
                             "usr/share/agentlb/monitoring/agentlb.rules.test.yml",
                             "usr/share/agentlb/monitoring/grafana-dashboard.json",
                             "usr/share/agentlb/monitoring/metric-names.txt",
                             "usr/share/doc/agentlb/README.md",
                             "usr/share/doc/agentlb/OPERATIONS.md",
                             "usr/share/doc/agentlb/PRODUCTION.md",
                             "usr/share/doc/agentlb/TROUBLESHOOTING.md"}) {
        INFO(file);
        CHECK(fs::is_regular_file(package.root() / file));
    }
    for (const auto& path : listed_paths(listing)) {
        INFO(path);
        // No live config (the operator writes it), no enabled units, no
        // build leftovers.
        CHECK(path.rfind("/etc", 0) != 0);
        CHECK(path.rfind("/usr/local", 0) != 0);
        CHECK(path.find("/include/") == std::string::npos);
        CHECK(path.find(".a") != path.size() - 2);
        CHECK(path.find("test_") == std::string::npos);
    }
}

TEST_CASE(
    "package: control names package and version and architecture and Depends lists the runtime libraries",
    "[package]") {
    Package package;
    REQUIRE(package.debs().size() == 1);
    CHECK(package.field("Package") == "agentlb");
    CHECK(package.field("Version") == AGENTLB_VERSION_TEXT);
    CHECK(package.field("Architecture") == architecture());
    CHECK_FALSE(package.field("Maintainer").empty());
    CHECK_FALSE(package.field("Description").empty());

    const auto depends = package.field("Depends");
    INFO("Depends: " << depends);
    const auto names = dependency_names(depends);
    auto has = [&names](const std::string& name) {
        return std::find(names.begin(), names.end(), name) != names.end();
    };
    // From dpkg-shlibdeps: each library the binaries link, by its package.
    for (const char* library : {"libc6",
                                "libstdc++6",
                                "libssl3",
                                "libsqlite3-0",
                                "libboost-program-options1.74.0",
                                "libfmt9",
                                "passwd"}) {
        INFO(library);
        CHECK(has(library));
    }
    // spdlog's shlibs name its fmt flavour: libspdlog1.10-fmt9 (provided by libspdlog1.10).
    CHECK((has("libspdlog1.10") || has("libspdlog1.10-fmt9")));
    // Build-only packages never become runtime dependencies.
    CHECK(depends.find("-dev") == std::string::npos);
    CHECK(depends.find("catch2") == std::string::npos);
}

TEST_CASE(
    "package: installing starts nothing and the units run hardened as agentlb with state in /var/lib/agentlb",
    "[package]") {
    Package package;
    REQUIRE(package.debs().size() == 1);

    // Maintainer scripts: present, executable, and none enables or starts a
    // unit (stopping on removal is allowed).
    const std::regex starts(
        R"((systemctl[^\n]*\b(enable|start|restart|try-restart|reload-or-restart|preset|unmask)\b)|)"
        R"(deb-systemd-invoke|deb-systemd-helper|invoke-rc\.d|update-rc\.d|(^|[\s;&|])service\s+agentlb)");
    for (const char* script : {"postinst", "prerm", "postrm"}) {
        INFO(script);
        const auto path = package.control() / script;
        REQUIRE(executable(path));
        const auto text = without_comments(read_text(path));
        INFO(text);
        CHECK_FALSE(std::regex_search(text, starts));
    }
    const auto postinst = read_text(package.control() / "postinst");
    CHECK(postinst.find("useradd --system") != std::string::npos);
    CHECK(postinst.find("/var/lib/agentlb") != std::string::npos);

    const auto mgmt = read_text(package.root() / "usr/lib/systemd/system/agentlb-mgmt.service");
    const auto mgmt_instance = read_text(package.root() / "usr/lib/systemd/system/agentlb-mgmt@.service");
    const auto agent = read_text(package.root() / "usr/lib/systemd/system/agentlb-agent.service");
    CHECK(mgmt_instance.find(
              "\nExecStart=/usr/bin/agentlb-mgmt --config /etc/agentlb/mgmt-%i.conf --name %i\n") !=
          std::string::npos);
    CHECK(mgmt.find("\nExecStart=/usr/bin/agentlb-mgmt --config /etc/agentlb/mgmt.conf\n") !=
          std::string::npos);
    CHECK(agent.find("\nExecStart=/usr/bin/agentlb-agent --config /var/lib/agentlb/agent.properties "
                     "$AGENTLB_AGENT_ARGS\n") != std::string::npos);
    // The stop timeout fits the SIGTERM drain (agentlb.shutdown.timeout, 60 s by default) and the exit.
    for (const auto* unit : {&mgmt, &mgmt_instance}) {
        CHECK(unit->find("\nTimeoutStopSec=90s\n") != std::string::npos);
    }
    for (const auto* unit : {&mgmt, &mgmt_instance, &agent}) {
        for (const char* line : {"\nUser=agentlb\n",
                                 "\nProtectSystem=strict\n",
                                 "\nProtectHome=yes\n",
                                 "\nNoNewPrivileges=yes\n",
                                 "\nStateDirectory=agentlb\n",
                                 "\nCapabilityBoundingSet=\n",
                                 "\nRestartPreventExitStatus=2\n",
                                 "\nWantedBy=multi-user.target\n"}) {
            INFO(line);
            CHECK(unit->find(line) != std::string::npos);
        }
    }
}

TEST_CASE("install: cmake install writes the units for the prefix it installs to", "[package]") {
    TempDir stage;
    const auto installed =
        run_command({AGENTLB_CMAKE, "--install", AGENTLB_BUILD_DIR, "--prefix", "/opt/agentlb"},
                    kPackTimeout,
                    {{"DESTDIR", stage.path().string()}});
    INFO(describe(installed));
    REQUIRE(installed.exit_code == 0);
    const fs::path prefix = stage / "opt/agentlb";
    for (const char* binary : {"agentlb-mgmt", "agentlb-agent", "agentlbctl"}) {
        INFO(binary);
        CHECK(executable(prefix / "bin" / binary));
    }
    CHECK(fs::is_regular_file(prefix / "share/agentlb/examples/mgmt.conf"));
    CHECK(fs::is_regular_file(prefix / "share/agentlb/monitoring/agentlb.rules.yml"));
    CHECK(fs::is_regular_file(prefix / "share/agentlb/monitoring/grafana-dashboard.json"));
    const auto unit = read_text(prefix / "lib/systemd/system/agentlb-mgmt.service");
    CHECK(unit.find("\nExecStart=/opt/agentlb/bin/agentlb-mgmt --config /etc/agentlb/mgmt.conf\n") !=
          std::string::npos);
    CHECK(unit.find("/usr/bin/") == std::string::npos);
    const auto agent = read_text(prefix / "lib/systemd/system/agentlb-agent.service");
    CHECK(agent.find("\nExecStart=/opt/agentlb/bin/agentlb-agent ") != std::string::npos);
}

TEST_CASE("package: man pages and bash completion for the three programs", "[package]") {
    Package package;
    REQUIRE(package.debs().size() == 1);
    for (const char* file : {"usr/share/man/man1/agentlbctl.1.gz",
                             "usr/share/man/man8/agentlb-mgmt.8.gz",
                             "usr/share/man/man8/agentlb-agent.8.gz"}) {
        INFO(file);
        CHECK(fs::is_regular_file(package.root() / file));
    }
    // One script under each name: bash-completion loads it by the command's name.
    const auto completions = package.root() / "usr/share/bash-completion/completions";
    const auto script = read_text(completions / "agentlbctl");
    CHECK(script.find("complete -F _agentlbctl agentlbctl") != std::string::npos);
    for (const char* program : {"agentlb-mgmt", "agentlb-agent"}) {
        INFO(program);
        CHECK(read_text(completions / program) == script);
    }
}
