// The command line run in-process, for everything that never opens a store:
// usage, help, refusals that happen before the store is touched, and preview
// with every value given.

#include "tools/agentlbctl/dispatch.hpp"
#include "tools/agentlbctl/usage.hpp"

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
    CHECK_THAT(group_only.err, Catch::Contains("config set [--zone ZONE [--cluster CLUSTER]] KEY VALUE"));

    const Outcome sub = run({"config", "frob"});
    CHECK(sub.code == 2);
    CHECK_THAT(sub.err, Catch::Contains("config commands: list, get, set, unset"));
}

TEST_CASE("group and command help go to stdout with exit 0") {
    const Outcome group = run({"host", "--help"});
    CHECK(group.code == 0);
    CHECK_THAT(group.out, Catch::Contains("host remove NAME"));

    const Outcome command = run({"config", "set", "--help"});
    CHECK(command.code == 0);
    CHECK_THAT(
        command.out,
        Catch::Contains("usage: agentlbctl [--db LOCATION] [--json] config set [--zone ZONE [--cluster "
                        "CLUSTER]] KEY VALUE"));

    const Outcome word = run({"help", "token", "create"});
    CHECK(word.code == 0);
    CHECK_THAT(word.out, Catch::Contains("--ttl SECONDS"));
}

TEST_CASE("wrong argument counts are bad usage, with the command named and its usage line") {
    const Outcome missing = run_without_store({"config", "set", "host"});
    CHECK(missing.code == 2);
    CHECK(missing.err ==
          "agentlbctl: config set: missing KEY VALUE\n"
          "usage: agentlbctl [--db LOCATION] [--json] config set [--zone ZONE [--cluster CLUSTER]] KEY "
          "VALUE\n");

    const Outcome extra = run_without_store({"config", "get", "host", "extra"});
    CHECK(extra.code == 2);
    CHECK(extra.err ==
          "agentlbctl: config get: unexpected argument \"extra\"\n"
          "usage: agentlbctl [--db LOCATION] [--json] config get KEY\n");

    const Outcome none_taken = run_without_store({"status", "-5"});
    CHECK(none_taken.code == 2);
    CHECK_THAT(none_taken.err, Catch::StartsWith("agentlbctl: status: unexpected argument \"-5\"\n"));
    CHECK(none_taken.out.empty());
}

TEST_CASE("global options are read before or after the command") {
    const std::string refusal = "no store at \"" + kNoStore + "\" (from --db)";
    for (const std::vector<std::string>& words :
         std::vector<std::vector<std::string>>{{"--db", kNoStore, "config", "get", "host"},
                                               {"config", "get", "host", "--db", kNoStore},
                                               {"config", "get", "--db=" + kNoStore, "host"}}) {
        INFO(words.front() << " ... " << words.back());
        const Outcome outcome = run(words);
        CHECK(outcome.code == 1);
        CHECK_THAT(outcome.err, Catch::Contains(refusal));
    }

    const std::vector<std::string> preview = {
        "preview", "--host", "M1,M2", "--algorithm", "static", "--host-ids", "1"};
    const std::string json =
        "{\n  \"algorithm\": \"static\",\n  \"host\": [\n    \"M1\",\n    \"M2\"\n  ],\n"
        "  \"weights\": {\n    \"M1\": 1,\n    \"M2\": 1\n  },\n"
        "  \"hosts\": [\n    {\n      \"id\": 1,\n      \"name\": null,\n      \"zone\": null,\n"
        "      \"list\": [\n        \"M1\",\n        \"M2\"\n      ]\n    }\n  ],\n"
        "  \"preferred\": {\n    \"M1\": 1,\n    \"M2\": 0\n  },\n  \"imbalance\": 2.0\n}\n";
    std::vector<std::string> before = preview;
    before.insert(before.begin(), "--json");
    std::vector<std::string> after = preview;
    after.push_back("--json");
    for (const auto& words : {before, after}) {
        const Outcome outcome = run_without_store(words);
        CHECK(outcome.code == 0);
        CHECK(outcome.out == json);
        CHECK(outcome.err.empty());
    }
}

TEST_CASE("values that start with a dash are values, for arguments and options alike") {
    const Outcome ttl = run_without_store({"token", "create", "--ttl", "-5"});
    CHECK(ttl.code == 2);
    CHECK(ttl.err ==
          "agentlbctl: token create: --ttl: \"-5\" is negative; expected a whole number from 1 to "
          "31536000\n");

    const Outcome late_global =
        run_without_store({"config", "set", "indirect.agent.lb.check.interval", "-5", "--json"});
    CHECK(late_global.code == 2);
    CHECK_THAT(late_global.err, Catch::Contains("\"-5\" is negative"));

    const Outcome ids =
        run_without_store({"preview", "--host", "a", "--algorithm", "static", "--host-ids", "-5"});
    CHECK(ids.code == 2);
    CHECK_THAT(ids.err, Catch::StartsWith("agentlbctl: preview: ") && Catch::Contains("-5"));
}

TEST_CASE("unknown options, missing values and values on flags are bad usage naming the option") {
    const Outcome unknown = run_without_store({"token", "create", "--colour", "red"});
    CHECK(unknown.code == 2);
    CHECK(unknown.err ==
          "agentlbctl: token create: unknown option \"--colour\"\n"
          "usage: agentlbctl [--db LOCATION] [--json] token create [--zone ZONE [--cluster CLUSTER]] [--name "
          "NAME] [--ttl SECONDS]\n");

    const Outcome unknown_global = run_without_store({"--verbose", "status"});
    CHECK(unknown_global.code == 2);
    CHECK_THAT(unknown_global.err, Catch::StartsWith("agentlbctl: unknown global option \"--verbose\""));

    const Outcome missing = run_without_store({"token", "create", "--ttl"});
    CHECK(missing.code == 2);
    CHECK_THAT(missing.err, Catch::StartsWith("agentlbctl: token create: --ttl needs a value\nusage: "));

    const Outcome missing_db = run({"status", "--db"});
    CHECK(missing_db.code == 2);
    CHECK_THAT(missing_db.err, Catch::StartsWith("agentlbctl: --db needs a value\n"));

    const Outcome flag = run_without_store({"preview", "--new-host=yes"});
    CHECK(flag.code == 2);
    CHECK_THAT(flag.err, Catch::StartsWith("agentlbctl: preview: --new-host takes no value\n"));

    const Outcome twice = run_without_store({"token", "create", "--zone", "a", "--zone", "b"});
    CHECK(twice.code == 2);
    CHECK_THAT(twice.err, Catch::StartsWith("agentlbctl: token create: --zone given twice\n"));
}

TEST_CASE("every command has its --help: usage line, summary, options, exit 0 without a store") {
    for (const auto& command : all_commands()) {
        INFO(command_name(command));
        std::vector<std::string> words(command.words.begin(), command.words.end());
        for (const char* help : {"--help", "-h"}) {
            std::vector<std::string> asked = words;
            asked.push_back(help);
            const Outcome outcome = run_without_store(asked);
            CHECK(outcome.code == 0);
            CHECK_THAT(outcome.out,
                       Catch::StartsWith(usage_line(command) + "\n\n" + std::string(command.summary)));
            if (command.options) {
                for (const auto& option : command.options->options()) {
                    CHECK_THAT(outcome.out, Catch::Contains(option->format_name()));
                }
            }
            CHECK(outcome.err.empty());
        }
        // --help before the command, and the word `help`, ask for the same text.
        std::vector<std::string> first = words;
        first.insert(first.begin(), "--help");
        std::vector<std::string> word = words;
        word.insert(word.begin(), "help");
        words.push_back("--help");
        CHECK(run_without_store(first).out == run_without_store(words).out);
        CHECK(run_without_store(word).out == run_without_store(words).out);
    }
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
        run_without_store({"preview", "--host", "a", "--algorithm", "fastest", "--host-ids", "1"});
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
          "preferred: M1=2 M2=1 M3=1\n"
          "imbalance: 1.500 (most first places over a fair share; 1 = even)\n");
    CHECK(outcome.err.empty());
}
