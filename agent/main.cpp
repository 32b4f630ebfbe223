// agentlb-agent: parse the options, then run the daemon.

#include "agent/agent.hpp"
#include "agent/options.hpp"

#include <iostream>

int main(int argc, char** argv) {
    using namespace agentlb::agent;
    auto parsed = parse_options(argc, argv, machine_host_name());
    if (!parsed) {
        std::cerr << "agentlb-agent: " << parsed.error() << '\n';
        return kExitUsage;
    }
    if (auto* print = std::get_if<PrintAndExit>(&*parsed)) {
        std::cout << print->text;
        return kExitOk;
    }
    try {
        return run_agent(std::get<AgentOptions>(*parsed));
    } catch (const std::exception& e) {
        std::cerr << "agentlb-agent: " << e.what() << '\n';
        return kExitFailure;
    }
}
