// The operator's maintenance requests and rebalance requests.

#include "common/store/postgres_store.hpp"
#include "common/store/server_rules.hpp"

namespace agentlb::store {

// ---- maintenance ----

Result<MaintenanceChange> PostgresStore::begin_maintenance(std::string_view name,
                                                           std::int64_t now,
                                                           std::int64_t stale_after) {
    return connection_.retrying([&]() -> Result<MaintenanceChange> {
        constexpr std::string_view what = "requesting a server's maintenance";
        PgTransaction transaction(connection_, what);
        // The generation row's lock, taken first, runs this check and write
        // after every other state change (each bumps first): two requests at
        // once cannot each leave only the other server up. READ COMMITTED:
        // the read below sees what committed before the lock was ours.
        bump_generation(what);
        auto change = decide_begin_maintenance(list_servers(), name, now, stale_after);
        if (!change || change->already) {
            return change;  // rolls the bump back
        }
        connection_.exec(
            "UPDATE servers SET maintenance = true, state = $2 WHERE name = $1", {name, change->state}, what);
        transaction.commit();
        return change;
    });
}

Result<MaintenanceChange> PostgresStore::end_maintenance(std::string_view name) {
    return connection_.retrying([&]() -> Result<MaintenanceChange> {
        constexpr std::string_view what = "cancelling a server's maintenance";
        PgTransaction transaction(connection_, what);
        bump_generation(what);
        auto change = decide_end_maintenance(list_servers(), name);
        if (!change || change->already) {
            return change;  // rolls the bump back
        }
        connection_.exec("UPDATE servers SET maintenance = false, state = $2 WHERE name = $1",
                         {name, change->state},
                         what);
        transaction.commit();
        return change;
    });
}

// ---- rebalancing ----

Result<std::int64_t> PostgresStore::request_rebalance(std::optional<std::string_view> target,
                                                      std::int64_t now) {
    const std::optional<std::string> stored_target =
        target ? std::optional<std::string>(*target) : std::nullopt;
    return connection_.retrying([&]() -> Result<std::int64_t> {
        constexpr std::string_view what = "requesting a rebalance";
        PgTransaction transaction(connection_, what);
        // Bumping first also orders the ids: the identity is drawn under the
        // generation row's lock, so ids ascend in commit order and a server
        // reading "after its last id" never misses one committed late.
        bump_generation(what);
        if (stored_target &&
            connection_.exec("SELECT 1 FROM servers WHERE name = $1", {stored_target}, what).rows() == 0) {
            return unknown_server(*stored_target);  // rolls the bump back
        }
        connection_.exec(
            "DELETE FROM rebalances WHERE requested_at < $1", {now - kRebalanceKeepSeconds}, what);
        auto inserted =
            connection_.exec("INSERT INTO rebalances (target, requested_at) VALUES ($1, $2) RETURNING id",
                             {stored_target, now},
                             what);
        const std::int64_t id = inserted.int64(0, 0);
        transaction.commit();
        return id;
    });
}

std::vector<RebalanceRequest> PostgresStore::rebalance_requests_after(std::int64_t id) {
    auto found = connection_.exec("SELECT id, target, requested_at FROM rebalances WHERE id > $1 ORDER BY id",
                                  {id},
                                  "reading rebalance requests");
    std::vector<RebalanceRequest> requests;
    for (int row = 0; row < found.rows(); ++row) {
        requests.push_back(
            RebalanceRequest{found.int64(row, 0), found.optional_text(row, 1), found.int64(row, 2)});
    }
    return requests;
}

std::int64_t PostgresStore::last_rebalance_id() {
    // The newest request is never pruned (pruning happens as one is added),
    // so the highest id present is the last one given.
    auto found =
        connection_.exec("SELECT coalesce(max(id), 0) FROM rebalances", "reading the last rebalance request");
    return found.int64(0, 0);
}

}  // namespace agentlb::store
