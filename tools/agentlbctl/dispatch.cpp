#include "tools/agentlbctl/dispatch.hpp"

#include "tools/agentlbctl/ca_commands.hpp"
#include "tools/agentlbctl/ca_rotate_command.hpp"
#include "tools/agentlbctl/cert_commands.hpp"
#include "tools/agentlbctl/config_commands.hpp"
#include "tools/agentlbctl/db_commands.hpp"
#include "tools/agentlbctl/host_commands.hpp"
#include "tools/agentlbctl/mgmt_commands.hpp"
#include "tools/agentlbctl/output.hpp"
#include "tools/agentlbctl/preview_command.hpp"
#include "tools/agentlbctl/rebalance_command.hpp"
#include "tools/agentlbctl/send_command.hpp"
#include "tools/agentlbctl/status_command.hpp"
#include "tools/agentlbctl/token_commands.hpp"
#include "tools/agentlbctl/usage.hpp"

#include <algorithm>
#include <exception>
#include <span>

#ifndef AGENTLB_VERSION
#define AGENTLB_VERSION "unknown"
#endif

namespace agentlb::ctl {
namespace {

int print_version(std::ostream& out) {
    out << "agentlbctl " << AGENTLB_VERSION << "\n";
    return kExitOk;
}

int usage_error(std::ostream& err, const std::string& message, const std::string& hint) {
    err << "agentlbctl: " << message << "\n" << hint << "\n";
    return kExitUsage;
}

const Command* find_command(const std::vector<Command>& commands, std::span<const std::string> words) {
    for (const auto& command : commands) {
        if (command.words.size() <= words.size() &&
            std::equal(command.words.begin(), command.words.end(), words.begin())) {
            return &command;
        }
    }
    return nullptr;
}

std::string group_members(const std::vector<Command>& commands, std::string_view group) {
    std::string names;
    for (const auto& command : commands) {
        if (command.words.front() == group && command.words.size() > 1) {
            names += names.empty() ? "" : ", ";
            names += command.words[1];
        }
    }
    return names;
}

int run_command(const Command& command,
                std::span<const std::string> args,
                std::ostream& out,
                std::ostream& err,
                const char* db_environment) {
    const std::string name = command_name(command);
    auto parsed = parse_command_args(args, command.syntax());
    if (!parsed) {
        return usage_error(err, name + ": " + parsed.error(), usage_line(command));
    }
    Context context(resolve_db(parsed->global.db, db_environment), parsed->global.json, out, err);
    context.set_command_name(name);
    // A failing store (StoreError names the file and what was being done) or
    // a system without randomness: the command line was fine, so exit 1.
    try {
        return command.run(context, *parsed);
    } catch (const std::exception& e) {
        return context.fail(kExitFailure, e.what());
    }
}

}  // namespace

std::vector<Command> all_commands() {
    std::vector<Command> commands;
    for (auto group : {status_commands,
                       config_commands,
                       preview_commands,
                       host_commands,
                       mgmt_commands,
                       rebalance_commands,
                       send_commands,
                       token_commands,
                       cert_commands,
                       ca_commands,
                       ca_rotate_commands,
                       db_commands}) {
        for (auto& command : group()) {
            commands.push_back(std::move(command));
        }
    }
    return commands;
}

int run_cli(
    int argc, const char* const* argv, std::ostream& out, std::ostream& err, const char* db_environment) {
    const std::vector<Command> commands = all_commands();
    const std::string hint = "run `agentlbctl --help` for the commands";
    const std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
    auto located = locate_command(args);
    if (!located) {
        return usage_error(err, located.error(), hint);
    }
    std::vector<std::string> words = located->words;
    bool help = located->global.help;
    // `agentlbctl help config set` reads as `agentlbctl config set --help`.
    if (!words.empty() && words.front() == "help") {
        words.erase(words.begin());
        help = true;
    }
    if (words.empty()) {
        if (help) {
            out << global_usage(commands);
            return kExitOk;
        }
        if (located->global.version) {
            return print_version(out);
        }
        err << global_usage(commands);
        return kExitUsage;
    }
    const std::string& group = words.front();
    const bool known_group = std::any_of(
        commands.begin(), commands.end(), [&group](const Command& c) { return c.words.front() == group; });
    if (!known_group) {
        return usage_error(err, "unknown command " + quote(group), hint);
    }
    if (const Command* command = find_command(commands, words)) {
        if (help) {
            out << command_usage(*command);
            return kExitOk;
        }
        if (located->global.version) {
            return print_version(out);
        }
        return run_command(*command, args, out, err, db_environment);
    }
    if (help) {
        out << group_usage(group, commands);
        return kExitOk;
    }
    if (words.size() < 2) {
        err << group_usage(group, commands);
        return kExitUsage;
    }
    return usage_error(err,
                       "unknown command " + quote(group + " " + words[1]) + "; " + group +
                           " commands: " + group_members(commands, group),
                       "run `agentlbctl " + group + " --help` for details");
}

}  // namespace agentlb::ctl
