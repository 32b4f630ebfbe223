// The two passes over the command line (tools/agentlbctl/cli_args.hpp):
// values that look like options must reach validation, and global options
// are read wherever they stand.

#include "tools/agentlbctl/cli_args.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace agentlb::ctl;
namespace po = boost::program_options;

namespace {

using Words = std::vector<std::string>;

// The options of a command like `token create`, plus a flag.
const po::options_description& token_options() {
    static const po::options_description options = [] {
        po::options_description declared("Options");
        declared.add_options()("zone", text_value("ZONE"), "zone")("ttl", text_value("SECONDS"), "ttl")(
            "new-host", "a flag");
        return declared;
    }();
    return options;
}

const std::vector<std::string_view> kTokenWords = {"token", "create"};
const std::vector<std::string_view> kSetWords = {"config", "set"};
const std::vector<std::string_view> kKeyValue = {"KEY", "VALUE"};

agentlb::Result<CommandArgs> parse_token(const Words& args) {
    return parse_command_args(args, CommandSyntax{kTokenWords, &token_options(), {}});
}

agentlb::Result<CommandArgs> parse_set(const Words& args) {
    return parse_command_args(args, CommandSyntax{kSetWords, nullptr, kKeyValue});
}

}  // namespace

TEST_CASE("pass 1 reads the global options before the command and keeps the words in order") {
    auto located = locate_command(
        Words{"--db", "/tmp/x.db", "--json", "config", "set", "indirect.agent.lb.check.interval", "-5"});
    REQUIRE(located.ok());
    CHECK(located->global.db == std::optional<std::string>("/tmp/x.db"));
    CHECK(located->global.json);
    CHECK_FALSE(located->global.help);
    CHECK(located->words == Words{"config", "set", "indirect.agent.lb.check.interval", "-5"});
}

TEST_CASE("pass 1 reads the global options after the command too, and leaves the command's options") {
    auto located = locate_command(Words{"token", "create", "--ttl", "-5", "--json", "--db=/a.db"});
    REQUIRE(located.ok());
    CHECK(located->global.json);
    CHECK(located->global.db == std::optional<std::string>("/a.db"));
    // "-5" is --ttl's value, which pass 1 cannot know: pass 2 sorts it out.
    CHECK(located->words == Words{"token", "create", "-5"});
}

TEST_CASE(
    "pass 1 reads --db: the =PATH form works, a missing or empty path and a repeated --db are refused") {
    auto equals = locate_command(Words{"--db=/a.db", "status"});
    REQUIRE(equals.ok());
    CHECK(*equals->global.db == "/a.db");

    auto no_value = locate_command(Words{"--db"});
    REQUIRE_FALSE(no_value.ok());
    CHECK(no_value.error() == "--db needs a value");

    auto empty = locate_command(Words{"--db=", "status"});
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error() == "--db: the value is empty");

    auto blank = locate_command(Words{"--db", "", "status"});
    REQUIRE_FALSE(blank.ok());
    CHECK(blank.error() == "--db: the value is empty");

    auto twice = locate_command(Words{"--db", "a", "status", "--db", "b"});
    REQUIRE_FALSE(twice.ok());
    CHECK(twice.error() == "--db given twice");
}

TEST_CASE("pass 1 refuses an unknown option before the command and names it") {
    auto located = locate_command(Words{"--verbose", "status"});
    REQUIRE_FALSE(located.ok());
    CHECK_THAT(located.error(), Catch::StartsWith("unknown global option \"--verbose\""));

    // -h is --help; any other single-dash word is a word.
    auto help = locate_command(Words{"-h"});
    REQUIRE(help.ok());
    CHECK(help->global.help);
    auto dash = locate_command(Words{"-5"});
    REQUIRE(dash.ok());
    CHECK(dash->words == Words{"-5"});
}

TEST_CASE("the store path comes from --db, then the environment, then the default") {
    CHECK(resolve_db(std::string("/opt.db"), "/env.db").location == "/opt.db");
    CHECK(resolve_db(std::string("/opt.db"), "/env.db").source == "--db");
    CHECK(resolve_db(std::nullopt, "/env.db").location == "/env.db");
    CHECK(resolve_db(std::nullopt, "/env.db").source == "$AGENTLB_DB");
    CHECK(resolve_db(std::nullopt, "").location == std::string(kDefaultDbPath));
    CHECK(resolve_db(std::nullopt, nullptr).location == "/var/lib/agentlb/agentlb.db");
}

TEST_CASE("a store location is an SQLite path or PostgreSQL, and is shown without its password") {
    const DbLocation file = resolve_db(std::string("/var/lib/agentlb/agentlb.db"), nullptr);
    CHECK(file.is_sqlite());
    CHECK(file.shown() == "/var/lib/agentlb/agentlb.db");

    const DbLocation uri = resolve_db(std::nullopt, "postgresql://agentlb:s3cret@db1,db2/agentlb");
    CHECK_FALSE(uri.is_sqlite());
    CHECK(uri.shown() == "postgresql://agentlb:***@db1,db2/agentlb");

    const DbLocation key_value = resolve_db(std::string("host=db1 password=s3cret dbname=agentlb"), nullptr);
    CHECK_FALSE(key_value.is_sqlite());
    CHECK(key_value.shown().find("s3cret") == std::string::npos);
}

TEST_CASE("pass 2: words starting with a single dash are arguments, so -5 reaches validation") {
    auto parsed = parse_set(Words{"config", "set", "indirect.agent.lb.check.interval", "-5"});
    REQUIRE(parsed.ok());
    CHECK(parsed->positionals == Words{"indirect.agent.lb.check.interval", "-5"});

    auto dash = parse_set(Words{"config", "set", "-", ""});
    REQUIRE(dash.ok());
    CHECK(dash->positionals == Words{"-", ""});
}

TEST_CASE("pass 2: global options are read before, between and after the command's words") {
    for (const Words& args : {Words{"--json", "--db", "/x.db", "config", "set", "k", "v"},
                              Words{"config", "set", "--json", "k", "--db=/x.db", "v"},
                              Words{"config", "set", "k", "v", "--db", "/x.db", "--json"}}) {
        INFO(args.front() << " " << args.back());
        auto parsed = parse_set(args);
        REQUIRE(parsed.ok());
        CHECK(parsed->global.json);
        CHECK(parsed->global.db == std::optional<std::string>("/x.db"));
        CHECK(parsed->positionals == Words{"k", "v"});
    }
    // Repeating a global flag changes nothing, as before.
    auto twice = parse_set(Words{"--json", "config", "set", "k", "v", "--json"});
    REQUIRE(twice.ok());
    CHECK(twice->global.json);
}

TEST_CASE("pass 2: a double dash ends the options, everything after it is an argument") {
    auto parsed = parse_set(Words{"config", "set", "--", "--json", "-h"});
    REQUIRE(parsed.ok());
    CHECK_FALSE(parsed->global.json);
    CHECK_FALSE(parsed->global.help);
    CHECK(parsed->positionals == Words{"--json", "-h"});
}

TEST_CASE("pass 2: an option's value is taken as it is, even when it looks like an option") {
    auto parsed = parse_token(Words{"token", "create", "--ttl", "-5", "--zone=--x", "--new-host"});
    REQUIRE(parsed.ok());
    CHECK(parsed->value("ttl") == std::optional<std::string>("-5"));
    CHECK(parsed->value("zone") == std::optional<std::string>("--x"));
    CHECK(parsed->has_flag("new-host"));
    CHECK_FALSE(parsed->has_flag("zone"));
    CHECK(parsed->positionals.empty());

    auto empty = parse_token(Words{"token", "create", "--zone", ""});
    REQUIRE(empty.ok());
    CHECK(empty->value("zone") == std::optional<std::string>(""));
}

TEST_CASE("pass 2 refuses an unknown option, a missing value, a value on a flag and a repeat") {
    auto unknown = parse_token(Words{"token", "create", "--colour", "red"});
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error() == "unknown option \"--colour\"");

    // No abbreviations: --ne is not --new-host.
    auto guessed = parse_token(Words{"token", "create", "--ne"});
    REQUIRE_FALSE(guessed.ok());
    CHECK(guessed.error() == "unknown option \"--ne\"");

    // Where the command takes arguments, the message says how to pass one.
    auto with_arguments = parse_set(Words{"config", "set", "k", "--v"});
    REQUIRE_FALSE(with_arguments.ok());
    CHECK(with_arguments.error() ==
          "unknown option \"--v\"; a value that starts with \"--\" can follow \"--\"");

    // The names the positionals are stored under are no options.
    auto hidden = parse_set(Words{"config", "set", "--KEY", "k", "v"});
    REQUIRE_FALSE(hidden.ok());
    CHECK_THAT(hidden.error(), Catch::StartsWith("unknown option \"--KEY\""));

    auto missing = parse_token(Words{"token", "create", "--zone"});
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error() == "--zone needs a value");

    auto empty = parse_token(Words{"token", "create", "--zone="});
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error() == "--zone: the value is empty");

    auto flag_value = parse_token(Words{"token", "create", "--new-host=yes"});
    REQUIRE_FALSE(flag_value.ok());
    CHECK(flag_value.error() == "--new-host takes no value");

    auto json_value = parse_token(Words{"token", "create", "--json=yes"});
    REQUIRE_FALSE(json_value.ok());
    CHECK(json_value.error() == "--json takes no value");

    auto twice = parse_token(Words{"token", "create", "--ttl", "1", "--ttl=2"});
    REQUIRE_FALSE(twice.ok());
    CHECK(twice.error() == "--ttl given twice");

    auto flag_twice = parse_token(Words{"token", "create", "--new-host", "--new-host"});
    REQUIRE_FALSE(flag_twice.ok());
    CHECK(flag_twice.error() == "--new-host given twice");
}

TEST_CASE("pass 2 refuses a missing or an extra argument, and words out of place") {
    auto missing = parse_set(Words{"config", "set", "k"});
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error() == "missing KEY VALUE");

    auto extra = parse_set(Words{"config", "set", "k", "v", "w", "x"});
    REQUIRE_FALSE(extra.ok());
    CHECK(extra.error() == "unexpected argument \"w\"");

    auto none_taken = parse_token(Words{"token", "create", "-5"});
    REQUIRE_FALSE(none_taken.ok());
    CHECK(none_taken.error() == "unexpected argument \"-5\"");

    // --ttl took "create": the command's own words must come first.
    auto shifted = parse_token(Words{"token", "--ttl", "create"});
    REQUIRE_FALSE(shifted.ok());
    CHECK_THAT(shifted.error(), Catch::Contains("\"token create\" must come before its options"));
}

TEST_CASE("help options before the double dash set help") {
    CHECK(parse_token(Words{"token", "create", "--help"})->global.help);
    CHECK(parse_token(Words{"-h", "token", "create"})->global.help);
    CHECK(locate_command(Words{"config", "set", "-h"})->global.help);
    CHECK_FALSE(locate_command(Words{"config", "set", "--", "-h"})->global.help);
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
