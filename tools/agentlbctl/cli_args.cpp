#include "tools/agentlbctl/cli_args.hpp"

#include "tools/agentlbctl/output.hpp"

#include <boost/program_options/errors.hpp>
#include <boost/program_options/parsers.hpp>
#include <boost/program_options/positional_options.hpp>

#include <algorithm>

namespace agentlb::ctl {

namespace po = boost::program_options;

namespace {

// Long options only, spelled out: without short options a word such as "-5"
// matches no option and stays a value; without guessing "--host" never
// stands for "--host-ids".
constexpr int kStyle = po::command_line_style::unix_style & ~po::command_line_style::allow_guessing &
                       ~po::command_line_style::allow_short;

// Names of the hidden options the positional words are stored under. Typed
// as options ("--KEY x") they are refused like any unknown option.
constexpr const char* kWordsKey = "agentlbctl-words";
constexpr const char* kCommandKey = "agentlbctl-command";
constexpr const char* kExtraKey = "agentlbctl-extra";

// "-h" is the one short option kept: the usual spelling of --help.
std::pair<std::string, std::string> dash_h_is_help(const std::string& token) {
    if (token == "-h") {
        return {"help", ""};
    }
    return {};
}

po::parsed_options parse(std::span<const std::string> args,
                         const po::options_description& options,
                         const po::positional_options_description& positionals,
                         bool allow_unregistered) {
    const std::vector<std::string> tokens(args.begin(), args.end());
    po::command_line_parser parser(tokens);
    parser.options(options).positional(positionals).style(kStyle).extra_parser(dash_h_is_help);
    if (allow_unregistered) {
        parser.allow_unregistered();
    }
    return parser.run();
}

// Program_options' own wording ("the required argument for option '--zone'
// is missing") told in the words the rest of agentlbctl uses.
std::string describe(const po::error& e) {
    const auto* named = dynamic_cast<const po::error_with_option_name*>(&e);
    const std::string option = named != nullptr ? named->get_option_name() : std::string();
    if (dynamic_cast<const po::unknown_option*>(&e) != nullptr) {
        return "unknown option " + quote(option);
    }
    if (const auto* syntax = dynamic_cast<const po::invalid_command_line_syntax*>(&e)) {
        switch (syntax->kind()) {
            case po::invalid_command_line_syntax::missing_parameter:
                return option + " needs a value";
            case po::invalid_command_line_syntax::empty_adjacent_parameter:
                return option + ": the value is empty";
            case po::invalid_command_line_syntax::extra_parameter:
                return option + " takes no value";
            default:
                break;
        }
    }
    return e.what();
}

// Stores a global option into `global`. False when `option` is not one.
Result<bool> take_global(const po::option& option, GlobalOptions& global) {
    const std::string& key = option.string_key;
    if (key == "json") {
        global.json = true;
    } else if (key == "help") {
        global.help = true;
    } else if (key == "version") {
        global.version = true;
    } else if (key == "db") {
        if (global.db) {
            return fail("--db given twice");
        }
        const std::string& location = option.value.front();
        if (location.empty()) {
            return fail("--db: the value is empty");
        }
        global.db = location;
    } else {
        return false;
    }
    return true;
}

bool is_hidden(std::string_view key, std::span<const std::string_view> positionals) {
    return key == kWordsKey || key == kCommandKey || key == kExtraKey ||
           std::find(positionals.begin(), positionals.end(), key) != positionals.end();
}

// A command that takes arguments may be given one that starts with "--".
std::string with_hint(std::string message, const CommandSyntax& syntax) {
    if (!syntax.positionals.empty()) {
        message += "; a value that starts with \"--\" can follow \"--\"";
    }
    return message;
}

std::string joined(std::span<const std::string_view> words) {
    std::string text;
    for (std::string_view word : words) {
        text += text.empty() ? "" : " ";
        text += word;
    }
    return text;
}

}  // namespace

po::typed_value<std::string>* text_value(const char* value_name) {
    return po::value<std::string>()->value_name(value_name);
}

po::options_description global_options() {
    po::options_description options(
        "Global options (before or after the command)", kHelpWidth, kHelpWidth / 2);
    const std::string db_help =
        "the store: an SQLite file, or PostgreSQL as a postgresql:// URI or a libpq key=value string "
        "(default: $" +
        std::string(kDbEnvironmentVariable) + ", else " + std::string(kDefaultDbPath) + ")";
    // clang-format off
    options.add_options()
        ("db", text_value("LOCATION"), db_help.c_str())
        ("json", "machine-readable output")
        ("help", "this text; COMMAND --help describes one command")
        ("version", "print the version");
    // clang-format on
    return options;
}

Result<LocatedCommand> locate_command(std::span<const std::string> args) {
    po::options_description options = global_options();
    options.add_options()(kWordsKey, po::value<std::vector<std::string>>());
    po::positional_options_description positionals;
    positionals.add(kWordsKey, -1);
    try {
        const po::parsed_options parsed = parse(args, options, positionals, true);
        LocatedCommand located;
        for (const po::option& option : parsed.options) {
            if (option.position_key != -1) {
                located.words.push_back(option.value.front());
                continue;
            }
            auto global = take_global(option, located.global);
            if (!global) {
                return fail(global.error());
            }
            // After the command, the command's options are left to pass 2.
            if (!*global && located.words.empty()) {
                const std::string shown =
                    option.original_tokens.empty() ? option.string_key : option.original_tokens.front();
                return fail("unknown global option " + quote(shown) +
                            "; global options are --db LOCATION, --json, --help and --version");
            }
        }
        return located;
    } catch (const po::error& e) {
        return fail(describe(e));
    }
}

Result<CommandArgs> parse_command_args(std::span<const std::string> args, const CommandSyntax& syntax) {
    po::options_description options = global_options();
    if (syntax.options != nullptr) {
        options.add(*syntax.options);
    }
    po::positional_options_description positionals;
    options.add_options()(kCommandKey, po::value<std::vector<std::string>>());
    positionals.add(kCommandKey, static_cast<int>(syntax.words.size()));
    for (std::string_view name : syntax.positionals) {
        const std::string key(name);
        options.add_options()(key.c_str(), po::value<std::string>());
        positionals.add(key.c_str(), 1);
    }
    options.add_options()(kExtraKey, po::value<std::vector<std::string>>());
    positionals.add(kExtraKey, -1);

    CommandArgs result;
    std::vector<std::string> command_words;
    std::vector<std::string> extra;
    try {
        const po::parsed_options parsed = parse(args, options, positionals, false);
        for (const po::option& option : parsed.options) {
            const std::string& key = option.string_key;
            if (option.position_key != -1) {
                auto& into = key == kCommandKey ? command_words
                             : key == kExtraKey ? extra
                                                : result.positionals;
                into.push_back(option.value.front());
                continue;
            }
            if (is_hidden(key, syntax.positionals)) {
                return fail(with_hint("unknown option " + quote(option.original_tokens.front()), syntax));
            }
            auto global = take_global(option, result.global);
            if (!global) {
                return fail(global.error());
            }
            if (*global) {
                continue;
            }
            const std::string shown = "--" + key;
            if (result.values.count(key) != 0 || result.flags.count(key) != 0) {
                return fail(shown + " given twice");
            }
            if (option.value.empty()) {
                result.flags.insert(key);
            } else {
                result.values.emplace(key, option.value.front());
            }
        }
    } catch (const po::unknown_option& e) {
        return fail(with_hint(describe(e), syntax));
    } catch (const po::error& e) {
        return fail(describe(e));
    }
    // Pass 1 found the command words before any option value; a command
    // option placed between them shifts them here.
    if (!std::equal(command_words.begin(), command_words.end(), syntax.words.begin(), syntax.words.end())) {
        return fail("the command words \"" + joined(syntax.words) + "\" must come before its options");
    }
    if (!extra.empty()) {
        return fail("unexpected argument " + quote(extra.front()));
    }
    if (result.positionals.size() < syntax.positionals.size()) {
        return fail("missing " + joined(syntax.positionals));
    }
    return result;
}

bool CommandArgs::has_flag(std::string_view name) const {
    return flags.find(name) != flags.end();
}

std::optional<std::string> CommandArgs::value(std::string_view name) const {
    auto it = values.find(name);
    if (it == values.end()) {
        return std::nullopt;
    }
    return it->second;
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
