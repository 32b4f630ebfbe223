// What the zone metrics' read costs (docs/BENCHMARKS.md, "Zone metrics"):
// Store::connected_counts on 10,000 hosts, 95 % of them connected, beside
// list_hosts for scale. Run by hand, on SQLite (tmpfs)
//   build/tests/store_zone_counts_bench
// and on PostgreSQL with a throwaway cluster (tools/pg_local.sh start DIR)
//   AGENTLB_TEST_STORE=postgresql:DIR build/tests/store_zone_counts_bench
// Exits 1 if the counts are wrong.

#include "store_test_support.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <vector>

using namespace agentlb::store;
using namespace agentlb::store::test;

namespace {

constexpr int kHosts = 10'000;
constexpr int kRuns = 200;

// Median and maximum of `runs` calls of `body`, in microseconds.
template <class Body>
std::pair<double, double> time_calls(int runs, Body body) {
    std::vector<double> micros;
    for (int i = 0; i < runs; ++i) {
        const auto start = std::chrono::steady_clock::now();
        body();
        micros.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(micros.begin(), micros.end());
    return {micros[micros.size() / 2], micros.back()};
}

int run() {
    StoreFixture fixture;
    StoreContents contents;
    for (int i = 1; i <= kHosts; ++i) {
        contents.hosts.push_back(
            HostRecord{i, "kvm" + std::to_string(i), "zone" + std::to_string(i % 10), std::nullopt, 0, 1});
    }
    contents.last_host_id = kHosts;
    if (auto imported = fixture.store->import_contents(contents); !imported) {
        std::fprintf(stderr, "import refused: %s\n", imported.error().c_str());
        return 1;
    }
    // 95 % connected, spread over three servers.
    raw_exec(fixture.db, "UPDATE hosts SET connected_to = 'ms' || (id % 3 + 1) WHERE id % 20 <> 0");

    const auto counts = fixture.store->connected_counts();
    std::int64_t counted = 0;
    for (const auto& count : counts) {
        counted += count.hosts;
    }
    if (counted != kHosts - kHosts / 20 || counts.size() != 30) {
        std::fprintf(
            stderr, "wrong counts: %lld hosts in %zu rows\n", static_cast<long long>(counted), counts.size());
        return 1;
    }
    const auto [counts_median, counts_max] = time_calls(kRuns, [&] { fixture.store->connected_counts(); });
    const auto [list_median, list_max] = time_calls(kRuns / 10, [&] { fixture.store->list_hosts(); });
    std::printf(
        "%s, %d hosts (9,500 connected, 10 zones, 3 servers):\n"
        "  connected_counts: median %.0f us, max %.0f us over %d calls\n"
        "  list_hosts (for scale): median %.0f us, max %.0f us over %d calls\n",
        testing_postgresql() ? "PostgreSQL" : "SQLite",
        kHosts,
        counts_median,
        counts_max,
        kRuns,
        list_median,
        list_max,
        kRuns / 10);
    return 0;
}

}  // namespace

int main() {
    try {
        return run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
