// Hosts.

#include "common/store/config_rules.hpp"
#include "common/store/postgres_store.hpp"
#include "common/util/clock.hpp"

#include <algorithm>
#include <numeric>

namespace agentlb::store {

std::string pg_id_array(const std::vector<std::int64_t>& ids) {
    std::string array = "{";
    for (std::size_t i = 0; i < ids.size(); ++i) {
        array += (i == 0 ? "" : ",") + std::to_string(ids[i]);
    }
    return array + "}";
}

HostRecord read_pg_host(const PgResult& result, int row) {
    return HostRecord{result.int64(row, 0),
                      result.text(row, 1),
                      result.text(row, 2),
                      result.optional_text(row, 3),
                      result.int64(row, 4),
                      result.int64(row, 5),
                      result.text(row, 6)};
}

namespace {

std::string host_query(std::string_view rest) {
    return std::string("SELECT ") + kPgHostColumns + " FROM hosts " + std::string(rest);
}

}  // namespace

// ---- hosts ----

std::vector<HostRecord> PostgresStore::list_hosts() {
    auto found = connection_.exec(host_query("ORDER BY id"), "listing hosts");
    std::vector<HostRecord> hosts;
    for (int row = 0; row < found.rows(); ++row) {
        hosts.push_back(read_pg_host(found, row));
    }
    return hosts;
}

std::optional<HostRecord> PostgresStore::find_host(std::string_view name) {
    // An exact match first, then without regard to ASCII case (lower() under
    // "C", as SQLite's NOCASE; the index hosts_by_name_nocase): a store from
    // before the rule may hold several, and the oldest wins.
    auto found =
        connection_.exec(host_query("WHERE name = $1 OR lower(name COLLATE \"C\") = lower($1 COLLATE \"C\") "
                                    "ORDER BY name = $1 DESC, id LIMIT 1"),
                         {name},
                         "looking up a host by name");
    if (found.rows() == 0) {
        return std::nullopt;
    }
    return read_pg_host(found, 0);
}

std::optional<HostRecord> PostgresStore::find_host_by_id(std::int64_t id) {
    auto found = connection_.exec(host_query("WHERE id = $1"), {id}, "looking up a host by id");
    if (found.rows() == 0) {
        return std::nullopt;
    }
    return read_pg_host(found, 0);
}

std::vector<std::int64_t> PostgresStore::host_ids_in_zone(std::string_view zone) {
    auto found = connection_.exec(
        "SELECT id FROM hosts WHERE zone = $1 ORDER BY id", {zone}, "listing a zone's hosts");
    std::vector<std::int64_t> ids;
    for (int row = 0; row < found.rows(); ++row) {
        ids.push_back(found.int64(row, 0));
    }
    return ids;
}

Result<HostRecord> PostgresStore::move_host(std::string_view name, const lb::ConfigScope& place) {
    if (auto valid = check_host_place(place); !valid) {
        return fail(valid.error());
    }
    return connection_.retrying([&]() -> Result<HostRecord> {
        constexpr std::string_view what = "moving a host";
        PgTransaction transaction(connection_, what);
        bump_generation(what);
        std::optional<HostRecord> host = find_host(name);
        if (!host) {
            return fail("no host named \"" + std::string(name) + "\" is registered");
        }
        if (host->zone == place.zone && host->cluster == place.cluster) {
            return *host;  // rolls the bump back
        }
        connection_.exec("UPDATE hosts SET zone = $2, cluster = $3 WHERE id = $1",
                         {host->id, place.zone, place.cluster},
                         what);
        transaction.commit();
        return *host;
    });
}

Result<std::vector<std::string>> PostgresStore::remove_host(std::string_view name) {
    return connection_.retrying([&]() -> Result<std::vector<std::string>> {
        constexpr std::string_view what = "removing a host";
        PgTransaction transaction(connection_, what);
        bump_generation(what);
        std::optional<HostRecord> host = find_host(name);
        if (!host) {
            return fail("no host named \"" + std::string(name) + "\" is registered");
        }
        auto found = connection_.exec(
            "SELECT serial FROM certificates WHERE host_id = $1 ORDER BY seq", {host->id}, what);
        std::vector<std::string> serials;
        for (int row = 0; row < found.rows(); ++row) {
            serials.push_back(found.text(row, 0));
        }
        // remove_host takes no clock; revoked_at is informational only.
        revoke_certificates_of(host->id, util::unix_now());
        connection_.exec("DELETE FROM hosts WHERE id = $1", {host->id}, what);
        transaction.commit();
        return serials;
    });
}

void PostgresStore::set_connected(std::int64_t host_id, std::string_view server, std::int64_t now) {
    connection_.retrying([&] {
        PgTransaction transaction(connection_, "recording a host's session");
        write_connected(host_id, server, now);
        transaction.commit();
    });
}

bool PostgresStore::write_connected(std::int64_t host_id, std::string_view server, std::int64_t now) {
    constexpr std::string_view what = "recording a host's session";
    // The row lock orders sessions recorded at once on several servers:
    // each sees the one before it, and supersedes it.
    auto found = connection_.exec("SELECT connected_to FROM hosts WHERE id = $1 FOR UPDATE", {host_id}, what);
    if (found.rows() == 0) {
        return false;
    }
    const std::optional<std::string> before = found.optional_text(0, 0);
    if (before && *before != server) {
        // The server named so far may still hold an older session of this host.
        connection_.exec("INSERT INTO superseded (host_id, server, by_server, at) VALUES ($1, $2, $3, $4)",
                         {host_id, *before, server, now},
                         what);
    }
    connection_.exec("UPDATE hosts SET connected_to = $2, last_seen = greatest(last_seen, $3) WHERE id = $1",
                     {host_id, server, now},
                     what);
    return true;
}

void PostgresStore::reading_together(const std::function<void()>& reads) {
    reads();
}

std::vector<bool> PostgresStore::apply_connection_changes(std::string_view server,
                                                          const std::vector<ConnectionChange>& changes,
                                                          std::int64_t now) {
    std::vector<bool> changed(changes.size(), false);
    if (changes.empty()) {
        return changed;
    }
    // Rows are locked in host id order (a host's own changes keep theirs):
    // two servers committing overlapping groups never wait on each other in a cycle.
    std::vector<std::size_t> order(changes.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&changes](std::size_t a, std::size_t b) {
        return changes[a].host_id < changes[b].host_id;
    });
    connection_.retrying([&] {
        PgTransaction transaction(connection_, "recording hosts' sessions");
        for (const std::size_t i : order) {
            changed[i] = changes[i].kind == ConnectionChange::Kind::connect
                             ? write_connected(changes[i].host_id, server, now)
                             : write_cleared(changes[i].host_id, server);
        }
        transaction.commit();
    });
    return changed;
}

std::optional<std::string> PostgresStore::connected_server(std::int64_t host_id) {
    auto found = connection_.exec(
        "SELECT connected_to FROM hosts WHERE id = $1", {host_id}, "reading a host's session record");
    if (found.rows() == 0) {
        return std::nullopt;
    }
    return found.optional_text(0, 0);
}

std::optional<std::string> PostgresStore::claim_if_unconnected(std::int64_t host_id,
                                                               std::string_view server,
                                                               std::int64_t now) {
    // One statement, so what it returns is what it saw or wrote: the row as
    // locked, named by us if it was empty.
    auto found = connection_.exec(
        "WITH locked AS (SELECT id, connected_to FROM hosts WHERE id = $1 FOR UPDATE), "
        "claimed AS (UPDATE hosts SET connected_to = $2, last_seen = greatest(hosts.last_seen, $3) "
        "FROM locked WHERE hosts.id = locked.id AND locked.connected_to IS NULL "
        "RETURNING hosts.connected_to) "
        "SELECT coalesce((SELECT connected_to FROM claimed), locked.connected_to) FROM locked",
        {host_id, server, now},
        "recording a host's session again");
    if (found.rows() == 0) {
        return std::nullopt;
    }
    return found.optional_text(0, 0);
}

std::vector<Supersession> PostgresStore::take_superseded(std::string_view server) {
    // One statement: rows added meanwhile stay for the next call, and two
    // callers never both take a row.
    auto taken = connection_.exec(
        "WITH taken AS (DELETE FROM superseded WHERE server = $1 RETURNING seq, host_id, by_server, at) "
        "SELECT host_id, by_server, at FROM taken ORDER BY seq",
        {server},
        "taking superseded sessions");
    std::vector<Supersession> found;
    for (int row = 0; row < taken.rows(); ++row) {
        found.push_back(Supersession{taken.int64(row, 0), taken.text(row, 1), taken.int64(row, 2)});
    }
    return found;
}

void PostgresStore::forget_superseded(std::string_view server) {
    connection_.exec("DELETE FROM superseded WHERE server = $1", {server}, "forgetting superseded sessions");
}

bool PostgresStore::clear_connected_if(std::int64_t host_id, std::string_view server) {
    return write_cleared(host_id, server);
}

bool PostgresStore::write_cleared(std::int64_t host_id, std::string_view server) {
    return connection_
               .exec("UPDATE hosts SET connected_to = NULL WHERE id = $1 AND connected_to = $2",
                     {host_id, server},
                     "clearing a host's session")
               .affected() > 0;
}

void PostgresStore::clear_connected_for_server(std::string_view server) {
    connection_.retrying(
        [&] { connection_.exec(kPgClearServerHosts, {server}, "clearing a server's sessions"); });
}

std::vector<ConnectedCount> PostgresStore::connected_counts() {
    // COLLATE "C": byte order, as SQLite's.
    auto found = connection_.exec(
        "SELECT zone, connected_to, COUNT(*) FROM hosts WHERE connected_to IS NOT NULL "
        "GROUP BY zone, connected_to ORDER BY zone COLLATE \"C\", connected_to COLLATE \"C\"",
        "counting connected hosts");
    std::vector<ConnectedCount> counts;
    for (int row = 0; row < found.rows(); ++row) {
        counts.push_back(ConnectedCount{found.text(row, 0), found.text(row, 1), found.int64(row, 2)});
    }
    return counts;
}

void PostgresStore::touch_hosts(const std::vector<std::int64_t>& host_ids, std::int64_t now) {
    if (host_ids.empty()) {
        return;
    }
    connection_.retrying([&] {
        connection_.exec(
            "UPDATE hosts SET last_seen = greatest(last_seen, $2) "
            "WHERE id IN (SELECT id FROM hosts WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE)",
            {pg_id_array(host_ids), now},
            "updating hosts' last_seen");
    });
}

}  // namespace agentlb::store
