#pragma once

// The whole command line, from argv to exit code: find the command (pass 1
// of cli_args.hpp), read the whole line against its options (pass 2), run
// it. Streams and the environment are passed in, so it can be run inside a
// test.

#include "tools/agentlbctl/command.hpp"

#include <ostream>
#include <vector>

namespace agentlb::ctl {

// Every command, in the order `--help` lists them.
std::vector<Command> all_commands();

// `db_environment` is getenv("AGENTLB_DB") (may be null).
int run_cli(
    int argc, const char* const* argv, std::ostream& out, std::ostream& err, const char* db_environment);

}  // namespace agentlb::ctl
