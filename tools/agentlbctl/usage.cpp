#include "tools/agentlbctl/usage.hpp"

#include "tools/agentlbctl/cli_args.hpp"

#include <sstream>

namespace agentlb::ctl {
namespace {

std::string synopsis(const Command& command) {
    std::string text = command_name(command);
    if (!command.arguments.empty()) {
        text += " ";
        text += command.arguments;
    }
    return text;
}

// Program_options pads wrapped descriptions with trailing spaces.
std::string option_table(const boost::program_options::options_description& options) {
    std::ostringstream printed;
    printed << options;
    std::string text = printed.str();
    std::string out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        end = end == std::string::npos ? text.size() : end;
        std::string_view line(text.data() + start, end - start);
        while (!line.empty() && line.back() == ' ') {
            line.remove_suffix(1);
        }
        out += line;
        out += '\n';
        start = end + 1;
    }
    return out;
}

std::string command_list(const std::vector<Command>& commands, std::string_view group) {
    std::string out;
    for (const auto& command : commands) {
        if (group.empty() || command.words.front() == group) {
            out += "  " + synopsis(command) + "\n      " + std::string(command.summary) + "\n";
        }
    }
    return out;
}

}  // namespace

std::string usage_line(const Command& command) {
    return "usage: agentlbctl [--db LOCATION] [--json] " + synopsis(command);
}

std::string global_usage(const std::vector<Command>& commands) {
    return "usage: agentlbctl [--db LOCATION] [--json] COMMAND ...\n"
           "\n"
           "Operator tool for agentlb: configuration, enrollment tokens, the CA, hosts and servers.\n"
           "\n" +
           option_table(global_options()) +
           "\n"
           "Commands:\n" +
           command_list(commands, "") +
           "\n"
           "Only long options exist (--name VALUE or --name=VALUE); \"--\" ends the options, and any\n"
           "other word, \"-5\" included, is an argument.\n"
           "\n"
           "Exit codes: 0 success; 2 bad usage, a refused value or a store newer than this build\n"
           "(nothing changed);\n"
           "1 any other failure (store missing or unreadable, no CA, CA files already present, a --wait\n"
           "that timed out).\n";
}

std::string group_usage(std::string_view group, const std::vector<Command>& commands) {
    return "usage: agentlbctl [--db LOCATION] [--json] " + std::string(group) +
           " COMMAND ...\n\nCommands:\n" + command_list(commands, group);
}

std::string command_usage(const Command& command) {
    std::string out = usage_line(command) + "\n\n" + std::string(command.summary) + "\n";
    if (command.options && !command.options->options().empty()) {
        out += "\n" + option_table(*command.options);
    }
    if (!command.details.empty()) {
        out += "\n" + command.details + "\n";
    }
    return out;
}

}  // namespace agentlb::ctl
