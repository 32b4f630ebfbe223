// agentlb-mgmt: parses the options and runs the management server.

#include "mgmt/options.hpp"
#include "mgmt/server.hpp"

#include <fmt/format.h>

#include <cstdio>

int main(int argc, char** argv) {
    using namespace agentlb::mgmt;
    auto parsed = parse_options(argc, argv, environment_defaults());
    if (!parsed) {
        fmt::print(stderr, "agentlb-mgmt: {}\n(see agentlb-mgmt --help)\n", parsed.error());
        return kExitConfig;
    }
    if (parsed->action != ParsedOptions::Action::run) {
        fmt::print("{}\n", parsed->text);
        return kExitOk;
    }
    return run_server(parsed->options);
}
