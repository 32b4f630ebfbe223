// agentlbctl: the operator CLI. Everything is in dispatch.cpp and the command
// files, so the tests run the same code.

#include "tools/agentlbctl/cli_args.hpp"
#include "tools/agentlbctl/dispatch.hpp"

#include <cstdlib>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
    const std::string variable(agentlb::ctl::kDbEnvironmentVariable);
    return agentlb::ctl::run_cli(argc, argv, std::cout, std::cerr, std::getenv(variable.c_str()));
}
