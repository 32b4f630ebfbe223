#pragma once

// agentlb-bench's options parsed from a command line written as a list, as the
// option tests give it.

#include "tools/bench/options.hpp"

#include <string>
#include <vector>

namespace agentlb::test {

inline auto parse_bench_args(std::vector<std::string> args) {
    args.insert(args.begin(), "agentlb-bench");
    std::vector<const char*> argv;
    for (const auto& arg : args) {
        argv.push_back(arg.c_str());
    }
    return bench::parse_bench_options(static_cast<int>(argv.size()), argv.data());
}

}  // namespace agentlb::test
