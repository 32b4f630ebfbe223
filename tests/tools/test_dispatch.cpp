// The command line run in-process, for everything that never opens a store:
// usage, help, refusals that happen before the store is touched, and preview
// with every value given.

#include "tools/agentlbctl/dispatch.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

using namespace agentlb::ctl;

namespace {

// A --db whose folder does not exist: opening it would fail loudly, and any
// attempt to create it would leave the folder behind.
const std::string kNoStore = "/nonexistent-agentlb-test-dir/agentlb.db";

struct Outcome {
    int code;
    std::string out;
    std::string err;
};

Outcome run(std::vector<std::string> words) {
    words.insert(words.begin(), "agentlbctl");
    std::vector<const char*> argv;
    for (const auto& word : words) {
        argv.push_back(word.c_str());
    }
    std::ostringstream out;
    std::ostringstream err;
    const int code = run_cli(static_cast<int>(argv.size()), argv.data(), out, err, nullptr);
    return {code, out.str(), err.str()};
}

Outcome run_without_store(std::vector<std::string> words) {
    words.insert(words.begin(), {"--db", kNoStore});
    Outcome outcome = run(std::move(words));
    CHECK_FALSE(std::filesystem::exists(std::filesystem::path(kNoStore).parent_path()));
    return outcome;
}

}  // namespace

TEST_CASE("global help lists every command and the exit codes, and --version prints the version") {
    const Outcome help = run({"--help"});
    CHECK(help.code == 0);
    for (const auto& command : all_commands()) {
        CHECK_THAT(help.out, Catch::Contains(command_name(command)));
    }
    CHECK_THAT(help.out, Catch::Contains("Exit codes"));
    CHECK(help.err.empty());

    const Outcome version = run({"--version"});
    CHECK(version.code == 0);
    CHECK_THAT(version.out, Catch::StartsWith("agentlbctl "));
}

TEST_CASE("no command, an unknown command or an unknown subcommand is bad usage (exit 2)") {
    const Outcome none = run({});
    CHECK(none.code == 2);
    CHECK_THAT(none.err, Catch::Contains("usage: agentlbctl"));
    CHECK(none.out.empty());

    const Outcome unknown = run({"frobnicate"});
    CHECK(unknown.code == 2);
    CHECK_THAT(unknown.err, Catch::Contains("unknown command \"frobnicate\""));

    const Outcome group_only = run({"config"});
    CHECK(group_only.code == 2);
    CHECK_THAT(group_only.err, Catch::Contains("config set KEY VALUE"));

    const Outcome sub = run({"config", "frob"});
    CHECK(sub.code == 2);
    CHECK_THAT(sub.err, Catch::Contains("config commands: list, get, set"));
}

TEST_CASE("group and command help go to stdout with exit 0") {
    const Outcome group = run({"host", "--help"});
    CHECK(group.code == 0);
    CHECK_THAT(group.out, Catch::Contains("host remove NAME"));

    const Outcome command = run({"config", "set", "--help"});
    CHECK(command.code == 0);
    CHECK_THAT(command.out, Catch::Contains("usage: agentlbctl [--db PATH] [--json] config set KEY VALUE"));

    const Outcome word = run({"help", "token", "create"});
    CHECK(word.code == 0);
    CHECK_THAT(word.out, Catch::Contains("--ttl SECONDS"));
}

TEST_CASE("wrong argument counts and global options after the command are bad usage") {
    const Outcome missing = run_without_store({"config", "set", "host"});
    CHECK(missing.code == 2);
    CHECK_THAT(missing.err, Catch::Contains("config set: missing KEY VALUE"));

    const Outcome extra = run_without_store({"config", "get", "host", "extra"});
    CHECK(extra.code == 2);
    CHECK_THAT(extra.err, Catch::Contains("unexpected argument \"extra\""));

    const Outcome late = run_without_store({"config", "list", "--json"});
    CHECK(late.code == 2);
    CHECK_THAT(late.err, Catch::Contains("global options go before the command"));
}

TEST_CASE("config set -5 reaches validation: exit 2, key named, store never opened") {
    const Outcome outcome = run_without_store({"config", "set", "indirect.agent.lb.check.interval", "-5"});
    CHECK(outcome.code == 2);
    CHECK(outcome.err ==
          "agentlbctl: config set: indirect.agent.lb.check.interval: \"-5\" is negative; expected whole "
          "seconds, 0 "
          "or more\n");
    CHECK(outcome.out.empty());

    const Outcome dashes =
        run_without_store({"config", "set", "--", "indirect.agent.lb.check.interval", "-5"});
    CHECK(dashes.code == 2);
    CHECK_THAT(dashes.err, Catch::Contains("\"-5\" is negative"));
}

TEST_CASE("unknown keys and bad option values are refused before the store is opened") {
    const Outcome get = run_without_store({"config", "get", "no.such.key"});
    CHECK(get.code == 2);
    CHECK_THAT(get.err, Catch::Contains("unknown configuration key \"no.such.key\""));

    const Outcome ttl = run_without_store({"token", "create", "--ttl", "0"});
    CHECK(ttl.code == 2);
    CHECK_THAT(ttl.err, Catch::Contains("--ttl"));

    const Outcome zone = run_without_store({"token", "create", "--zone="});
    CHECK(zone.code == 2);
    CHECK_THAT(zone.err, Catch::Contains("--zone: the value is empty"));

    const Outcome host =
        run_without_store({"preview", "--host", "a,,b", "--algorithm", "static", "--host-ids", "1"});
    CHECK(host.code == 2);
    CHECK_THAT(host.err, Catch::Contains("--host: ") && Catch::Contains("empty"));

    const Outcome algorithm =
        run_without_store({"preview", "--host", "a", "--algorithm", "hash", "--host-ids", "1"});
    CHECK(algorithm.code == 2);
    CHECK_THAT(algorithm.err, Catch::Contains("--algorithm: ") && Catch::Contains("roundrobin"));
}

TEST_CASE("a read on a store that does not exist fails with exit 1 and creates nothing") {
    const Outcome outcome = run_without_store({"config", "get", "host"});
    CHECK(outcome.code == 1);
    CHECK_THAT(outcome.err, Catch::Contains("no store at \"" + kNoStore + "\" (from --db)"));
}

TEST_CASE("preview with every value given never opens the store") {
    const Outcome outcome = run_without_store({"preview",
                                               "--host",
                                               "M1,M2,M3",
                                               "--algorithm",
                                               "roundrobin",
                                               "--host-ids",
                                               "1,2,3,4",
                                               "--new-host"});
    CHECK(outcome.code == 0);
    CHECK(outcome.out ==
          "1: M1,M2,M3\n"
          "2: M2,M3,M1\n"
          "3: M3,M1,M2\n"
          "4: M1,M2,M3\n"
          "new: M2,M3,M1\n"
          "preferred: M1=2 M2=1 M3=1\n");
    CHECK(outcome.err.empty());
}
