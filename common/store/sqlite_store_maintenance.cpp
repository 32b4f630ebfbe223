// The operator's maintenance requests and rebalance requests.

#include "common/store/server_rules.hpp"
#include "common/store/sqlite_store.hpp"

namespace agentlb::store {

// ---- maintenance ----

Result<MaintenanceChange> SqliteStore::begin_maintenance(std::string_view name,
                                                         std::int64_t now,
                                                         std::int64_t stale_after) {
    // BEGIN IMMEDIATE: the check and the write hold the write lock together,
    // so two requests at once cannot each leave only the other server up.
    WriteTransaction transaction(connection_, "requesting a server's maintenance");
    auto change = decide_begin_maintenance(list_servers(), name, now, stale_after);
    if (!change || change->already) {
        return change;
    }
    connection_
        .query("UPDATE servers SET maintenance = 1, state = ?2 WHERE name = ?1",
               "requesting a server's maintenance")
        .bind(1, name)
        .bind(2, change->state)
        .run();
    bump_generation();
    transaction.commit();
    return change;
}

Result<MaintenanceChange> SqliteStore::end_maintenance(std::string_view name) {
    WriteTransaction transaction(connection_, "cancelling a server's maintenance");
    auto change = decide_end_maintenance(list_servers(), name);
    if (!change || change->already) {
        return change;
    }
    connection_
        .query("UPDATE servers SET maintenance = 0, state = ?2 WHERE name = ?1",
               "cancelling a server's maintenance")
        .bind(1, name)
        .bind(2, change->state)
        .run();
    bump_generation();
    transaction.commit();
    return change;
}

// ---- rebalancing ----

Result<std::int64_t> SqliteStore::request_rebalance(std::optional<std::string_view> target,
                                                    std::int64_t now) {
    WriteTransaction transaction(connection_, "requesting a rebalance");
    if (target) {
        auto query = connection_.query("SELECT 1 FROM servers WHERE name = ?1", "requesting a rebalance");
        query.bind(1, *target);
        if (!query.step()) {
            return unknown_server(*target);
        }
    }
    connection_.query("DELETE FROM rebalances WHERE requested_at < ?1", "pruning old rebalance requests")
        .bind(1, now - kRebalanceKeepSeconds)
        .run();
    const std::optional<std::string> stored_target =
        target ? std::optional<std::string>(*target) : std::nullopt;
    connection_
        .query("INSERT INTO rebalances (target, requested_at) VALUES (?1, ?2)", "requesting a rebalance")
        .bind(1, stored_target)
        .bind(2, now)
        .run();
    const std::int64_t id = connection_.last_insert_rowid();
    bump_generation();
    transaction.commit();
    return id;
}

std::vector<RebalanceRequest> SqliteStore::rebalance_requests_after(std::int64_t id) {
    auto query =
        connection_.query("SELECT id, target, requested_at FROM rebalances WHERE id > ?1 ORDER BY id",
                          "reading rebalance requests");
    query.bind(1, id);
    std::vector<RebalanceRequest> requests;
    while (query.step()) {
        requests.push_back(RebalanceRequest{query.int64(0), query.optional_text(1), query.int64(2)});
    }
    return requests;
}

std::int64_t SqliteStore::last_rebalance_id() {
    // The newest request is never pruned (pruning happens as one is added),
    // so the highest id present is the last one given.
    auto query = connection_.query("SELECT coalesce(max(id), 0) FROM rebalances",
                                   "reading the last rebalance request");
    query.step();
    return query.int64(0);
}

}  // namespace agentlb::store
