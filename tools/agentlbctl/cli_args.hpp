#pragma once

// The command line, parsed by hand rather than with Program_options: a value
// such as "-5" must reach validation as a value, never be taken for an option.
//
// Shape: agentlbctl [GLOBAL OPTIONS] COMMAND WORDS [COMMAND OPTIONS] [ARGUMENTS]
// Global options are accepted only before the command. After the command,
// "--name VALUE" and "--name=VALUE" are options, "--" ends options, and every
// other word (including "-5" and "-") is an argument. An option's value is
// taken as it is, so "--ttl -5" reaches the check for a positive number.

#include "common/util/result.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::ctl {

inline constexpr std::string_view kDefaultDbPath = "/var/lib/agentlb/agentlb.db";
inline constexpr std::string_view kDbEnvironmentVariable = "AGENTLB_DB";

struct GlobalOptions {
    std::optional<std::string> db;  // --db PATH
    bool json = false;
    bool help = false;
    bool version = false;
};

struct SplitCommandLine {
    GlobalOptions global;
    std::vector<std::string> rest;  // the command words and everything after them
};

// Reads the global options up to the first word that is not one.
Result<SplitCommandLine> split_command_line(int argc, const char* const* argv);

struct DbLocation {
    std::string path;
    std::string source;  // "--db", "$AGENTLB_DB" or "the default"
};

// --db, else the environment variable when set and not empty, else the default.
DbLocation resolve_db(const std::optional<std::string>& db_option, const char* environment_value);

struct OptionSpec {
    std::string_view name;  // without the leading "--"
    bool takes_value = true;
};

struct CommandArgs {
    std::map<std::string, std::string, std::less<>> values;  // options with a value
    std::vector<std::string> flags;                          // options without one
    std::vector<std::string> positionals;
    bool help = false;  // --help or -h (before "--")

    bool has_flag(std::string_view name) const;
    std::optional<std::string> value(std::string_view name) const;
};

// Parses what follows the command words against the command's options.
// Refuses unknown options, a missing value, a value given to a flag and an
// option given twice; the message names the option.
Result<CommandArgs> parse_command_args(std::span<const std::string> args, std::span<const OptionSpec> specs);

// Decimal digits only (no sign, no spaces), within 1..max. `what` names the
// value in the message ("--ttl").
Result<std::int64_t> parse_positive_integer(std::string_view what, std::string_view text, std::int64_t max);

}  // namespace agentlb::ctl
