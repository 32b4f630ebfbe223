#include "mgmt/name_claim.hpp"

#include "common/util/clock.hpp"
#include "mgmt/cluster_state.hpp"
#include "mgmt/options.hpp"
#include "mgmt/shared_state.hpp"
#include "mgmt/store_worker.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

namespace agentlb::mgmt {

namespace {

constexpr std::chrono::milliseconds kPoll{250};

std::optional<store::ServerRecord> read_row(StoreWorker& store, const std::string& name) {
    return store.call_sync([&name](store::Store& s) -> std::optional<store::ServerRecord> {
        for (auto& server : s.list_servers()) {
            if (server.name == name) {
                return server;
            }
        }
        return std::nullopt;
    });
}

// Any state but `down` is a running process (draining or in maintenance).
bool is_running(const std::optional<store::ServerRecord>& row) {
    return row && row->state != store::kServerDown;
}

}  // namespace

std::optional<std::string> wait_for_name(StoreWorker& store,
                                         const std::string& name,
                                         std::chrono::seconds heartbeat_interval) {
    const auto first = read_row(store, name);
    if (!is_running(first)) {
        return std::nullopt;
    }
    const auto interval = heartbeat_interval.count();
    const auto limit = heartbeat_interval * kMissedHeartbeatsBeforeDead;
    if (!heartbeat_expired(first->last_heartbeat, util::unix_now(), interval, kMissedHeartbeatsBeforeDead)) {
        spdlog::info(
            "the store says management server {} is up at {} (last heartbeat {} s ago): "
            "waiting up to {} s to see whether it is still running",
            name,
            first->address,
            util::unix_now() - first->last_heartbeat,
            (limit + heartbeat_interval).count());
    }
    // Past the limit with no change, its heartbeat is stale even if the two
    // machines' clocks disagree.
    const auto deadline = std::chrono::steady_clock::now() + limit + heartbeat_interval;
    for (;;) {
        const auto row = read_row(store, name);
        if (!is_running(row)) {
            return std::nullopt;
        }
        if (row->last_heartbeat != first->last_heartbeat) {
            return "another agentlb-mgmt named " + name +
                   " is already running: its row in the store is up, advertised as " + row->address +
                   ", with a heartbeat " +
                   std::to_string(std::max<std::int64_t>(0, util::unix_now() - row->last_heartbeat)) +
                   " s old; stop it first, or give this one another --name";
        }
        if (heartbeat_expired(row->last_heartbeat, util::unix_now(), interval, kMissedHeartbeatsBeforeDead) ||
            std::chrono::steady_clock::now() >= deadline) {
            spdlog::warn(
                "management server {} at {} has not written a heartbeat for {} s (it did not stop "
                "cleanly): taking over its row",
                name,
                row->address,
                util::unix_now() - row->last_heartbeat);
            return std::nullopt;
        }
        std::this_thread::sleep_for(kPoll);
    }
}

}  // namespace agentlb::mgmt
