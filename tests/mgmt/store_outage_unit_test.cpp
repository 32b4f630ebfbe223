// The pure parts of serving without the store: a hello answered from the
// snapshot (mgmt/host_lookup.hpp) and when a server stops and resumes
// serving (mgmt/store_outage.hpp).

#include "mgmt/host_lookup.hpp"
#include "mgmt/store_outage.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

using namespace agentlb;
using namespace agentlb::mgmt;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<const ClusterSnapshot> snapshot_with_hosts() {
    store::HostRecord a;
    a.id = 3;
    a.name = "kvm-3";
    a.zone = "z";
    store::HostRecord b;
    b.id = 1;
    b.name = "kvm-1";
    b.zone = "z";
    auto built =
        make_snapshot(12, lb::LbSettings{{"ms1", "ms2"}, "roundrobin", 30}, host_ids_by_zone_of({a, b}), {});
    REQUIRE(built.ok());
    built->hosts_by_name = hosts_by_name_of({a, b});
    return std::make_shared<const ClusterSnapshot>(std::move(built).value());
}

}  // namespace

TEST_CASE("a hello answered from the snapshot: the host's id, zone and list, the snapshot's generation") {
    const auto snapshot = snapshot_with_hosts();
    auto read = read_host_from_snapshot(snapshot, "KVM-3", false);
    REQUIRE(read.has_value());
    const auto lookup = host_lookup_from(*read);
    CHECK(lookup.found);
    CHECK(lookup.host_id == 3);
    CHECK(lookup.zone == "z");
    CHECK_FALSE(lookup.revoked);
    CHECK(lookup.generation == 12);
    CHECK(lookup.algorithm == snapshot->algorithm);
    // The same list the store's answer would give.
    CHECK(lookup.assignment == compute_assignment(*snapshot, "z", 3));
    CHECK(lookup.assignment.interval == 30);

    // The snapshot's revocation list decides.
    CHECK(host_lookup_from(*read_host_from_snapshot(snapshot, "kvm-3", true)).revoked);
    // Unknown to the snapshot: nothing (the driver answers `unavailable`).
    CHECK_FALSE(read_host_from_snapshot(snapshot, "kvm-2", false).has_value());
}

TEST_CASE("ServingJudge: stops past the limit, resumes when the store answers, never with limit 0") {
    using Change = ServingJudge::Change;
    ServingJudge judge;
    CHECK(judge.serving());
    CHECK(judge.judge(std::nullopt, 2) == Change::none);
    CHECK(judge.judge(ServingJudge::Clock::duration(2s), 2) ==
          Change::none);  // not longer than the limit yet
    CHECK(judge.judge(ServingJudge::Clock::duration(2001ms), 2) == Change::stop);
    CHECK_FALSE(judge.serving());
    CHECK(judge.judge(ServingJudge::Clock::duration(5s), 2) == Change::none);  // said once
    CHECK(judge.judge(std::nullopt, 2) == Change::resume);
    CHECK(judge.serving());
    CHECK(judge.judge(std::nullopt, 2) == Change::none);

    SECTION("0 = never") {
        ServingJudge never;
        CHECK(never.judge(ServingJudge::Clock::duration(24h), 0) == Change::none);
        CHECK(never.serving());
    }
}

TEST_CASE("TickBudget: a rate spread over 100 ms ticks, fractions carried") {
    TickBudget budget;
    std::size_t sent = 0;
    for (int tick = 0; tick < 10; ++tick) {
        const auto now = budget.take(200);
        CHECK(now == 20);
        sent += now;
    }
    CHECK(sent == 200);
    std::vector<std::size_t> slow;
    for (int tick = 0; tick < 10; ++tick) {
        slow.push_back(budget.take(5));
    }
    // Five a second: one every other tick, never two at once.
    CHECK(std::count(slow.begin(), slow.end(), 1u) == 5);
    CHECK(std::count(slow.begin(), slow.end(), 0u) == 5);
    budget.reset();
    CHECK(budget.take(1) == 0);
}

TEST_CASE("MigrationPacer: at most the budget a tick, in rounds over who is still connected") {
    using Clock = MigrationPacer<int>::Clock;
    const auto t0 = Clock::time_point{} + 1h;
    constexpr std::size_t kBudget = 20;
    MigrationPacer<int> pacer;
    pacer.restart(t0);
    int rounds = 0;
    std::vector<int> connected(1000);
    for (int i = 0; i < 1000; ++i) {
        connected[static_cast<std::size_t>(i)] = i;
    }
    const auto source = [&] {
        ++rounds;
        return connected;
    };
    std::set<int> sent;
    auto now = t0;
    int ticks = 0;
    while (sent.size() < connected.size()) {
        const auto batch = pacer.next(now, kBudget, source);
        REQUIRE(!batch.empty());
        CHECK(batch.size() <= kBudget);
        sent.insert(batch.begin(), batch.end());
        now += kOutageTick;
        ++ticks;
        CHECK(pacer.pending() == connected.size() - sent.size());
    }
    CHECK(rounds == 1);
    CHECK(ticks == 1000 / 20);

    // Those still connected are asked again, but only after a pause.
    const auto ended = now - kOutageTick;  // the last batch's tick
    connected.resize(3);
    CHECK(pacer.next(now, kBudget, source).empty());
    CHECK(pacer.next(ended + kMigrateAgainAfter - kOutageTick, kBudget, source).empty());
    CHECK(pacer.next(ended + kMigrateAgainAfter, kBudget, source).size() == 3);
    CHECK(rounds == 2);

    // A new outage starts a round at once.
    pacer.restart(ended + kMigrateAgainAfter);
    CHECK(pacer.next(ended + kMigrateAgainAfter, kBudget, source).size() == 3);
    // A budget of 0 (a slow rate's tick) sends nothing and keeps the round.
    pacer.restart(ended + kMigrateAgainAfter);
    CHECK(pacer.next(ended + kMigrateAgainAfter, 0, source).empty());
    CHECK(pacer.pending() == 3);
}
