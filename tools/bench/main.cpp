// agentlb-bench: parses the options and runs the benchmark (or, with the
// hidden --worker flag, one of its worker processes).

#include "tools/bench/coordinator.hpp"
#include "tools/bench/options.hpp"
#include "tools/bench/proc_stats.hpp"
#include "tools/bench/worker.hpp"

#include <cstdio>
#include <filesystem>

int main(int argc, char** argv) {
    using namespace agentlb::bench;
    auto parsed = parse_bench_options(argc, argv);
    if (!parsed) {
        std::fprintf(stderr, "agentlb-bench: %s\n(see agentlb-bench --help)\n", parsed.error().c_str());
        return 2;
    }
    if (parsed->action == ParsedBench::Action::help) {
        std::printf("%s", parsed->text.c_str());
        return 0;
    }
    raise_descriptor_limit();
    if (parsed->action == ParsedBench::Action::worker) {
        return run_worker(3);
    }
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    return run_bench(parsed->options, ec ? std::string(argv[0]) : self.string());
}
