#include "tools/agentlbctl/usage.hpp"

#include "tools/agentlbctl/cli_args.hpp"

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
    return "usage: agentlbctl [--db PATH] [--json] " + synopsis(command);
}

std::string global_usage(const std::vector<Command>& commands) {
    return "usage: agentlbctl [--db PATH] [--json] COMMAND ...\n"
           "\n"
           "Operator tool for agentlb: configuration, enrollment tokens, the CA, hosts and servers.\n"
           "\n"
           "Global options (before the command):\n"
           "  --db PATH   the store (default: $" +
           std::string(kDbEnvironmentVariable) + ", else " + std::string(kDefaultDbPath) +
           ")\n"
           "  --json      machine-readable output\n"
           "  --help      this text; COMMAND --help describes one command\n"
           "  --version   print the version\n"
           "\n"
           "Commands:\n" +
           command_list(commands, "") +
           "\n"
           "Exit codes: 0 success; 2 bad usage or a refused value (nothing changed);\n"
           "1 any other failure (store missing or unreadable, no CA, CA files already present).\n";
}

std::string group_usage(std::string_view group, const std::vector<Command>& commands) {
    return "usage: agentlbctl [--db PATH] [--json] " + std::string(group) + " COMMAND ...\n\nCommands:\n" +
           command_list(commands, group);
}

std::string command_usage(const Command& command) {
    std::string out = usage_line(command) + "\n\n" + std::string(command.summary) + "\n";
    if (!command.details.empty()) {
        out += "\n" + command.details + "\n";
    }
    return out;
}

}  // namespace agentlb::ctl
