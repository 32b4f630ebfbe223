#include "tools/agentlbctl/cli_args.hpp"

#include "tools/agentlbctl/output.hpp"

#include <algorithm>

namespace agentlb::ctl {
namespace {

bool is_global_option_name(std::string_view name) {
    return name == "db" || name == "json" || name == "help" || name == "version";
}

}  // namespace

Result<SplitCommandLine> split_command_line(int argc, const char* const* argv) {
    SplitCommandLine split;
    int i = 1;
    for (; i < argc; ++i) {
        const std::string_view word = argv[i];
        if (word == "--") {
            ++i;
            break;
        }
        if (word == "-h" || word == "--help") {
            split.global.help = true;
        } else if (word == "--version") {
            split.global.version = true;
        } else if (word == "--json") {
            split.global.json = true;
        } else if (word == "--db" || word.starts_with("--db=")) {
            if (split.global.db) {
                return fail("--db given twice");
            }
            std::string path;
            if (word == "--db") {
                if (i + 1 >= argc) {
                    return fail("--db needs a value (the store's file)");
                }
                path = argv[++i];
            } else {
                path = std::string(word.substr(5));
            }
            if (path.empty()) {
                return fail("--db: the path is empty");
            }
            split.global.db = std::move(path);
        } else if (word.starts_with("-")) {
            return fail("unknown global option " + quote(word) + "; global options are --db PATH, --json, " +
                        "--help and --version, given before the command");
        } else {
            break;
        }
    }
    for (; i < argc; ++i) {
        split.rest.emplace_back(argv[i]);
    }
    return split;
}

DbLocation resolve_db(const std::optional<std::string>& db_option, const char* environment_value) {
    if (db_option) {
        return {*db_option, "--db"};
    }
    if (environment_value != nullptr && *environment_value != '\0') {
        return {environment_value, "$" + std::string(kDbEnvironmentVariable)};
    }
    return {std::string(kDefaultDbPath), "the default"};
}

bool CommandArgs::has_flag(std::string_view name) const {
    return std::find(flags.begin(), flags.end(), name) != flags.end();
}

std::optional<std::string> CommandArgs::value(std::string_view name) const {
    auto it = values.find(name);
    if (it == values.end()) {
        return std::nullopt;
    }
    return it->second;
}

Result<CommandArgs> parse_command_args(std::span<const std::string> args, std::span<const OptionSpec> specs) {
    CommandArgs parsed;
    std::size_t i = 0;
    for (; i < args.size(); ++i) {
        const std::string& word = args[i];
        if (word == "--") {
            ++i;
            break;
        }
        if (word == "-h" || word == "--help") {
            parsed.help = true;
            continue;
        }
        if (!word.starts_with("--")) {
            parsed.positionals.push_back(word);
            continue;
        }
        const std::size_t equals = word.find('=');
        const std::string name = word.substr(2, equals == std::string::npos ? std::string::npos : equals - 2);
        const std::string shown = "--" + name;
        auto spec =
            std::find_if(specs.begin(), specs.end(), [&](const OptionSpec& s) { return s.name == name; });
        if (spec == specs.end()) {
            std::string reason = "unknown option " + quote(shown);
            if (is_global_option_name(name)) {
                reason += "; global options go before the command (agentlbctl " + shown + " COMMAND ...)";
            } else {
                reason += "; a value that starts with \"--\" can follow \"--\"";
            }
            return fail(reason);
        }
        if (parsed.values.count(name) != 0 || parsed.has_flag(name)) {
            return fail(shown + " given twice");
        }
        if (!spec->takes_value) {
            if (equals != std::string::npos) {
                return fail(shown + " takes no value");
            }
            parsed.flags.push_back(name);
            continue;
        }
        if (equals != std::string::npos) {
            parsed.values.emplace(name, word.substr(equals + 1));
        } else if (i + 1 < args.size()) {
            parsed.values.emplace(name, args[++i]);
        } else {
            return fail(shown + " needs a value");
        }
    }
    for (; i < args.size(); ++i) {
        parsed.positionals.push_back(args[i]);
    }
    return parsed;
}

Result<std::int64_t> parse_positive_integer(std::string_view what, std::string_view text, std::int64_t max) {
    const std::string expected = "; expected a whole number from 1 to " + std::to_string(max);
    if (text.empty()) {
        return fail(std::string(what) + ": the value is empty" + expected);
    }
    const bool negative = text.front() == '-';
    const std::string_view digits = negative ? text.substr(1) : text;
    const bool all_digits = !digits.empty() && std::all_of(digits.begin(), digits.end(), [](char c) {
        return c >= '0' && c <= '9';
    });
    if (!all_digits) {
        return fail(std::string(what) + ": " + quote(text) + " is not a whole number" + expected);
    }
    if (negative) {
        return fail(std::string(what) + ": " + quote(text) + " is negative" + expected);
    }
    std::int64_t value = 0;
    for (char c : digits) {
        const int digit = c - '0';
        if (value > (max - digit) / 10) {
            return fail(std::string(what) + ": " + quote(text) + " is too large" + expected);
        }
        value = value * 10 + digit;
    }
    if (value == 0) {
        return fail(std::string(what) + ": " + quote(text) + " is not positive" + expected);
    }
    return value;
}

}  // namespace agentlb::ctl
