// Argument splitting: values that look like options must reach validation.

#include "tools/agentlbctl/cli_args.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace agentlb::ctl;

namespace {

// argv as main receives it, backed by the strings of the test.
struct Argv {
    explicit Argv(std::vector<std::string> words) : words_(std::move(words)) {
        for (auto& word : words_) {
            pointers_.push_back(word.c_str());
        }
    }
    int argc() const { return static_cast<int>(pointers_.size()); }
    const char* const* argv() const { return pointers_.data(); }

private:
    std::vector<std::string> words_;
    std::vector<const char*> pointers_;
};

const std::vector<OptionSpec> kTokenOptions = {{"zone", true}, {"ttl", true}, {"new-host", false}};

}  // namespace

TEST_CASE("global options before the command are split off - the rest is kept as is") {
    Argv args({"agentlbctl",
               "--db",
               "/tmp/x.db",
               "--json",
               "config",
               "set",
               "indirect.agent.lb.check.interval",
               "-5"});
    auto split = split_command_line(args.argc(), args.argv());
    REQUIRE(split.ok());
    CHECK(split->global.db == std::optional<std::string>("/tmp/x.db"));
    CHECK(split->global.json);
    CHECK_FALSE(split->global.help);
    CHECK(split->rest == std::vector<std::string>{"config", "set", "indirect.agent.lb.check.interval", "-5"});
}

TEST_CASE("the --db=PATH form works, a missing or empty path and a repeated --db are refused") {
    Argv equals({"agentlbctl", "--db=/a.db", "status"});
    auto split = split_command_line(equals.argc(), equals.argv());
    REQUIRE(split.ok());
    CHECK(*split->global.db == "/a.db");

    Argv missing({"agentlbctl", "--db"});
    auto no_value = split_command_line(missing.argc(), missing.argv());
    REQUIRE_FALSE(no_value.ok());
    CHECK_THAT(no_value.error(), Catch::Contains("--db needs a value"));

    Argv empty({"agentlbctl", "--db=", "status"});
    REQUIRE_FALSE(split_command_line(empty.argc(), empty.argv()).ok());

    Argv twice({"agentlbctl", "--db", "a", "--db", "b", "status"});
    auto repeated = split_command_line(twice.argc(), twice.argv());
    REQUIRE_FALSE(repeated.ok());
    CHECK_THAT(repeated.error(), Catch::Contains("twice"));
}

TEST_CASE("an unknown global option is refused and named") {
    Argv args({"agentlbctl", "--verbose", "status"});
    auto split = split_command_line(args.argc(), args.argv());
    REQUIRE_FALSE(split.ok());
    CHECK_THAT(split.error(), Catch::Contains("\"--verbose\""));
}

TEST_CASE("global options after the command are left to the command") {
    Argv args({"agentlbctl", "config", "list", "--json"});
    auto split = split_command_line(args.argc(), args.argv());
    REQUIRE(split.ok());
    CHECK_FALSE(split->global.json);
    CHECK(split->rest == std::vector<std::string>{"config", "list", "--json"});
}

TEST_CASE("the store path comes from --db, then the environment, then the default") {
    CHECK(resolve_db(std::string("/opt.db"), "/env.db").path == "/opt.db");
    CHECK(resolve_db(std::string("/opt.db"), "/env.db").source == "--db");
    CHECK(resolve_db(std::nullopt, "/env.db").path == "/env.db");
    CHECK(resolve_db(std::nullopt, "/env.db").source == "$AGENTLB_DB");
    CHECK(resolve_db(std::nullopt, "").path == std::string(kDefaultDbPath));
    CHECK(resolve_db(std::nullopt, nullptr).path == "/var/lib/agentlb/agentlb.db");
}

TEST_CASE("words starting with a single dash are arguments, so -5 reaches validation") {
    const std::vector<std::string> words = {"indirect.agent.lb.check.interval", "-5", "-"};
    auto parsed = parse_command_args(words, kTokenOptions);
    REQUIRE(parsed.ok());
    CHECK(parsed->positionals == words);
    CHECK_FALSE(parsed->help);
}

TEST_CASE("a double dash ends the options: everything after it is an argument") {
    const std::vector<std::string> words = {"--zone", "z1", "--", "--ttl", "-h", "x"};
    auto parsed = parse_command_args(words, kTokenOptions);
    REQUIRE(parsed.ok());
    CHECK(parsed->value("zone") == std::optional<std::string>("z1"));
    CHECK_FALSE(parsed->value("ttl").has_value());
    CHECK_FALSE(parsed->help);
    CHECK(parsed->positionals == std::vector<std::string>{"--ttl", "-h", "x"});
}

TEST_CASE("an option's value is taken as it is, even when it looks like an option") {
    const std::vector<std::string> words = {"--ttl", "-5", "--zone=--x", "--new-host"};
    auto parsed = parse_command_args(words, kTokenOptions);
    REQUIRE(parsed.ok());
    CHECK(parsed->value("ttl") == std::optional<std::string>("-5"));
    CHECK(parsed->value("zone") == std::optional<std::string>("--x"));
    CHECK(parsed->has_flag("new-host"));
    CHECK(parsed->positionals.empty());
}

TEST_CASE("command options are checked: unknown, repeated, missing value, value on a flag") {
    auto unknown = parse_command_args(std::vector<std::string>{"--colour", "red"}, kTokenOptions);
    REQUIRE_FALSE(unknown.ok());
    CHECK_THAT(unknown.error(), Catch::Contains("unknown option \"--colour\""));

    auto global = parse_command_args(std::vector<std::string>{"--json"}, kTokenOptions);
    REQUIRE_FALSE(global.ok());
    CHECK_THAT(global.error(), Catch::Contains("before the command"));

    auto twice = parse_command_args(std::vector<std::string>{"--ttl", "1", "--ttl=2"}, kTokenOptions);
    REQUIRE_FALSE(twice.ok());
    CHECK_THAT(twice.error(), Catch::Contains("--ttl given twice"));

    auto missing = parse_command_args(std::vector<std::string>{"--zone"}, kTokenOptions);
    REQUIRE_FALSE(missing.ok());
    CHECK_THAT(missing.error(), Catch::Contains("--zone needs a value"));

    auto flag_value = parse_command_args(std::vector<std::string>{"--new-host=yes"}, kTokenOptions);
    REQUIRE_FALSE(flag_value.ok());
    CHECK_THAT(flag_value.error(), Catch::Contains("--new-host takes no value"));
}

TEST_CASE("help options before the double dash ask for the command's usage") {
    CHECK(parse_command_args(std::vector<std::string>{"--help"}, kTokenOptions)->help);
    CHECK(parse_command_args(std::vector<std::string>{"x", "-h"}, kTokenOptions)->help);
}

TEST_CASE("positive integers: digits only, 1..max, with the reason named") {
    CHECK(*parse_positive_integer("--ttl", "3600", 86400) == 3600);
    CHECK(*parse_positive_integer("--ttl", "86400", 86400) == 86400);
    const std::vector<std::pair<std::string, std::string>> refused = {
        {"", "empty"},
        {"0", "not positive"},
        {"-5", "negative"},
        {"abc", "not a whole number"},
        {"+5", "not a whole number"},
        {" 5", "not a whole number"},
        {"86401", "too large"},
        {"99999999999999999999999", "too large"},
    };
    for (const auto& [text, reason] : refused) {
        INFO(text);
        auto parsed = parse_positive_integer("--ttl", text, 86400);
        REQUIRE_FALSE(parsed.ok());
        CHECK_THAT(parsed.error(), Catch::StartsWith("--ttl: ") && Catch::Contains(reason));
    }
}
