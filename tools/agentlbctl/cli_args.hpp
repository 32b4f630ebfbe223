#pragma once

// The command line, read with Boost.Program_options in two passes.
//
// Shape: agentlbctl [OPTIONS] COMMAND WORDS [OPTIONS] [ARGUMENTS]
// The global options (--db, --json, --help, --version) are accepted before or
// after the command. Only long options exist ("--name VALUE", "--name=VALUE"),
// with no abbreviations; "--" ends options; every other word, "-5" and "-"
// included, is an argument ("-h" alone is --help). An option's value is taken
// as it is, so "--ttl -5" reaches the check for a positive number.
//
// Pass 1 (locate_command) knows only the global options and finds the command
// words; pass 2 (parse_command_args) reads the whole line again against the
// global options plus the command's own, and refuses anything else.

#include "common/store/store_location.hpp"
#include "common/util/result.hpp"

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/value_semantic.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::ctl {

inline constexpr std::string_view kDefaultDbPath = "/var/lib/agentlb/agentlb.db";
inline constexpr std::string_view kDbEnvironmentVariable = "AGENTLB_DB";

struct GlobalOptions {
    std::optional<std::string> db;  // --db LOCATION
    bool json = false;
    bool help = false;  // --help or -h
    bool version = false;
};

// Width of the option tables in help texts.
inline constexpr unsigned kHelpWidth = 100;

// --db, --json, --help and --version, for parsing and for the help text.
boost::program_options::options_description global_options();

// An option that takes one value, shown as "--name VALUE" in help texts.
boost::program_options::typed_value<std::string>* text_value(const char* value_name);

struct LocatedCommand {
    GlobalOptions global;
    // The words that are neither options nor option values, in order: the
    // command words first. May include values of the command's options
    // (pass 1 does not know them), which pass 2 sorts out.
    std::vector<std::string> words;
};

// Pass 1. Refuses a bad global option, and any other option before the first
// word (the command).
Result<LocatedCommand> locate_command(std::span<const std::string> args);

// What pass 2 needs from a command.
struct CommandSyntax {
    std::span<const std::string_view> words;                               // {"config", "set"}
    const boost::program_options::options_description* options = nullptr;  // null: none
    std::span<const std::string_view> positionals;                         // {"KEY", "VALUE"}; all required
};

struct CommandArgs {
    GlobalOptions global;
    std::map<std::string, std::string, std::less<>> values;  // options with a value
    std::set<std::string, std::less<>> flags;                // options without one
    std::vector<std::string> positionals;                    // exactly the declared ones

    bool has_flag(std::string_view name) const;
    std::optional<std::string> value(std::string_view name) const;
};

// Pass 2. Refuses an unknown option, a missing value, a value given to a
// flag, an option given twice, a missing argument and an extra one; the
// message names the option or the argument.
Result<CommandArgs> parse_command_args(std::span<const std::string> args, const CommandSyntax& syntax);

// Where the store is: an SQLite file, or PostgreSQL (a postgresql:// URI or a
// libpq key=value string; see common/store/store_location.hpp). The location
// may carry a password: people only ever see shown().
struct DbLocation {
    std::string location;
    std::string source;  // "--db", "$AGENTLB_DB", "the default", "--from", "--to"

    bool is_sqlite() const { return store::backend_of(location) == store::Backend::sqlite; }
    std::string shown() const { return store::shown_location(location); }
};

// --db, else the environment variable when set and not empty, else the default.
DbLocation resolve_db(const std::optional<std::string>& db_option, const char* environment_value);

// Decimal digits only (no sign, no spaces), within 1..max. `what` names the
// value in the message ("--ttl").
Result<std::int64_t> parse_positive_integer(std::string_view what, std::string_view text, std::int64_t max);

}  // namespace agentlb::ctl
