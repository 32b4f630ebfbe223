// Hosts.

#include "common/store/config_rules.hpp"
#include "common/store/sqlite_store.hpp"
#include "common/util/clock.hpp"

#include <sqlite3.h>

namespace agentlb::store {

HostRecord read_host(const Query& row) {
    return HostRecord{row.int64(0),
                      row.text(1),
                      row.text(2),
                      row.optional_text(3),
                      row.int64(4),
                      row.int64(5),
                      row.text(6)};
}

// ---- hosts ----

std::vector<HostRecord> SqliteStore::list_hosts() {
    auto query = connection_.query(
        "SELECT id, name, zone, connected_to, last_seen, created_at, cluster FROM hosts ORDER BY id",
        "listing hosts");
    std::vector<HostRecord> hosts;
    while (query.step()) {
        hosts.push_back(read_host(query));
    }
    return hosts;
}

std::optional<HostRecord> SqliteStore::find_host(std::string_view name) {
    {
        auto query = connection_.query(
            "SELECT id, name, zone, connected_to, last_seen, created_at, cluster FROM hosts WHERE name = ?1",
            "looking up a host by name");
        query.bind(1, name);
        if (query.step()) {
            return read_host(query);
        }
    }
    // Names ignore ASCII case (NOCASE folds exactly that; enrolled names are
    // ASCII). A store from before the rule may hold several: the oldest wins.
    auto query = connection_.query(
        "SELECT id, name, zone, connected_to, last_seen, created_at, cluster FROM hosts WHERE name = ?1 "
        "COLLATE "
        "NOCASE "
        "ORDER BY id LIMIT 1",
        "looking up a host by name");
    query.bind(1, name);
    if (!query.step()) {
        return std::nullopt;
    }
    return read_host(query);
}

std::optional<HostRecord> SqliteStore::find_host_by_id(std::int64_t id) {
    auto query = connection_.query(
        "SELECT id, name, zone, connected_to, last_seen, created_at, cluster FROM hosts WHERE id = ?1",
        "looking up a host by id");
    query.bind(1, id);
    if (!query.step()) {
        return std::nullopt;
    }
    return read_host(query);
}

std::vector<std::int64_t> SqliteStore::host_ids_in_zone(std::string_view zone) {
    auto query =
        connection_.query("SELECT id FROM hosts WHERE zone = ?1 ORDER BY id", "listing a zone's hosts");
    query.bind(1, zone);
    std::vector<std::int64_t> ids;
    while (query.step()) {
        ids.push_back(query.int64(0));
    }
    return ids;
}

Result<HostRecord> SqliteStore::move_host(std::string_view name, const lb::ConfigScope& place) {
    if (auto valid = check_host_place(place); !valid) {
        return fail(valid.error());
    }
    WriteTransaction transaction(connection_, "moving a host");
    std::optional<HostRecord> host = find_host(name);
    if (!host) {
        return fail("no host named \"" + std::string(name) + "\" is registered");
    }
    if (host->zone == place.zone && host->cluster == place.cluster) {
        return *host;
    }
    connection_.query("UPDATE hosts SET zone = ?2, cluster = ?3 WHERE id = ?1", "moving a host")
        .bind(1, host->id)
        .bind(2, place.zone)
        .bind(3, place.cluster)
        .run();
    bump_generation();
    transaction.commit();
    return *host;
}

Result<std::vector<std::string>> SqliteStore::remove_host(std::string_view name) {
    WriteTransaction transaction(connection_, "removing a host");
    std::optional<HostRecord> host = find_host(name);
    if (!host) {
        return fail("no host named \"" + std::string(name) + "\" is registered");
    }
    std::vector<std::string> serials;
    {
        auto query = connection_.query("SELECT serial FROM certificates WHERE host_id = ?1 ORDER BY rowid",
                                       "removing a host");
        query.bind(1, host->id);
        while (query.step()) {
            serials.push_back(query.text(0));
        }
    }
    // remove_host takes no clock; revoked_at is informational only.
    revoke_certificates_of(host->id, util::unix_now());
    connection_.query("DELETE FROM hosts WHERE id = ?1", "removing a host").bind(1, host->id).run();
    bump_generation();
    transaction.commit();
    return serials;
}

void SqliteStore::set_connected(std::int64_t host_id, std::string_view server, std::int64_t now) {
    WriteTransaction transaction(connection_, "recording a host's session");
    write_connected(host_id, server, now);
    transaction.commit();
}

bool SqliteStore::write_connected(std::int64_t host_id, std::string_view server, std::int64_t now) {
    // The server named so far may still hold an older session of this host.
    connection_
        .query(
            "INSERT INTO superseded (host_id, server, by_server, at) "
            "SELECT id, connected_to, ?2, ?3 FROM hosts "
            "WHERE id = ?1 AND connected_to IS NOT NULL AND connected_to <> ?2",
            "recording a host's session")
        .bind(1, host_id)
        .bind(2, server)
        .bind(3, now)
        .run();
    connection_
        .query("UPDATE hosts SET connected_to = ?2, last_seen = max(last_seen, ?3) WHERE id = ?1",
               "recording a host's session")
        .bind(1, host_id)
        .bind(2, server)
        .bind(3, now)
        .run();
    return connection_.changes() > 0;
}

void SqliteStore::reading_together(const std::function<void()>& reads) {
    if (connection_.in_transaction()) {
        reads();
        return;
    }
    connection_.query("BEGIN", "reading the store").run();
    try {
        reads();
    } catch (...) {
        if (connection_.in_transaction()) {
            sqlite3_exec(connection_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
        }
        throw;
    }
    connection_.query("COMMIT", "reading the store").run();
}

std::vector<bool> SqliteStore::apply_connection_changes(std::string_view server,
                                                        const std::vector<ConnectionChange>& changes,
                                                        std::int64_t now) {
    std::vector<bool> changed;
    changed.reserve(changes.size());
    if (changes.empty()) {
        return changed;
    }
    WriteTransaction transaction(connection_, "recording hosts' sessions");
    for (const auto& change : changes) {
        changed.push_back(change.kind == ConnectionChange::Kind::connect
                              ? write_connected(change.host_id, server, now)
                              : write_cleared(change.host_id, server));
    }
    transaction.commit();
    return changed;
}

std::optional<std::string> SqliteStore::connected_server(std::int64_t host_id) {
    auto query =
        connection_.query("SELECT connected_to FROM hosts WHERE id = ?1", "reading a host's session record");
    query.bind(1, host_id);
    if (!query.step()) {
        return std::nullopt;
    }
    return query.optional_text(0);
}

std::optional<std::string> SqliteStore::claim_if_unconnected(std::int64_t host_id,
                                                             std::string_view server,
                                                             std::int64_t now) {
    connection_
        .query(
            "UPDATE hosts SET connected_to = ?2, last_seen = max(last_seen, ?3) "
            "WHERE id = ?1 AND connected_to IS NULL",
            "recording a host's session again")
        .bind(1, host_id)
        .bind(2, server)
        .bind(3, now)
        .run();
    return connected_server(host_id);
}

std::vector<Supersession> SqliteStore::take_superseded(std::string_view server) {
    std::vector<Supersession> found;
    std::int64_t last_rowid = 0;
    {
        auto query = connection_.query(
            "SELECT rowid, host_id, by_server, at FROM superseded WHERE server = ?1 ORDER BY rowid",
            "reading superseded sessions");
        query.bind(1, server);
        while (query.step()) {
            last_rowid = query.int64(0);
            found.push_back(Supersession{query.int64(1), query.text(2), query.int64(3)});
        }
    }
    if (!found.empty()) {
        // Rows added since the read stay for the next call.
        connection_
            .query("DELETE FROM superseded WHERE server = ?1 AND rowid <= ?2",
                   "forgetting superseded sessions")
            .bind(1, server)
            .bind(2, last_rowid)
            .run();
    }
    return found;
}

void SqliteStore::forget_superseded(std::string_view server) {
    connection_.query("DELETE FROM superseded WHERE server = ?1", "forgetting superseded sessions")
        .bind(1, server)
        .run();
}

bool SqliteStore::clear_connected_if(std::int64_t host_id, std::string_view server) {
    return write_cleared(host_id, server);
}

bool SqliteStore::write_cleared(std::int64_t host_id, std::string_view server) {
    connection_
        .query("UPDATE hosts SET connected_to = NULL WHERE id = ?1 AND connected_to = ?2",
               "clearing a host's session")
        .bind(1, host_id)
        .bind(2, server)
        .run();
    return connection_.changes() > 0;
}

void SqliteStore::clear_connected_for_server(std::string_view server) {
    connection_
        .query("UPDATE hosts SET connected_to = NULL WHERE connected_to = ?1", "clearing a server's sessions")
        .bind(1, server)
        .run();
}

std::vector<ConnectedCount> SqliteStore::connected_counts() {
    // Counted here, not by GROUP BY: SQLite groups through a temporary
    // B-tree, ten times the plain scan on 10,000 hosts (docs/BENCHMARKS.md).
    // NOT INDEXED: most hosts are connected, so hosts_by_server would only
    // add a lookup of each row.
    auto query =
        connection_.query("SELECT zone, connected_to FROM hosts NOT INDEXED WHERE connected_to IS NOT NULL",
                          "counting connected hosts");
    std::map<std::pair<std::string, std::string>, std::int64_t> counted;
    while (query.step()) {
        ++counted[{query.text(0), query.text(1)}];
    }
    std::vector<ConnectedCount> counts;
    counts.reserve(counted.size());
    for (auto& [key, hosts] : counted) {
        counts.push_back(ConnectedCount{key.first, key.second, hosts});
    }
    return counts;
}

void SqliteStore::touch_hosts(const std::vector<std::int64_t>& host_ids, std::int64_t now) {
    if (host_ids.empty()) {
        return;
    }
    WriteTransaction transaction(connection_, "updating hosts' last_seen");
    for (std::int64_t id : host_ids) {
        connection_
            .query("UPDATE hosts SET last_seen = max(last_seen, ?2) WHERE id = ?1",
                   "updating hosts' last_seen")
            .bind(1, id)
            .bind(2, now)
            .run();
    }
    transaction.commit();
}

}  // namespace agentlb::store
