// Opening, configuration, generation, CA and management servers.

#include "common/store/postgres_store.hpp"

#include "common/lb/config_keys.hpp"
#include "common/store/config_rules.hpp"
#include "common/store/pg_schema.hpp"
#include "common/store/server_rules.hpp"

#include <stdexcept>

namespace agentlb::store {

namespace {

constexpr std::string_view kGlobalScope = "global";

}  // namespace

PostgresStore::PostgresStore(const std::string& db, OpenMode mode) : connection_(db) {
    pg_migrate(connection_, mode);
}

// ---- configuration ----

std::optional<std::string> PostgresStore::get_config(std::string_view key) {
    auto found = connection_.exec("SELECT value FROM configuration WHERE scope = $1 AND name = $2",
                                  {kGlobalScope, key},
                                  "reading a configuration value");
    if (found.rows() == 0) {
        return std::nullopt;
    }
    return found.text(0, 0);
}

std::map<std::string, std::string> PostgresStore::list_config() {
    auto found = connection_.exec("SELECT name, value FROM configuration WHERE scope = $1",
                                  {kGlobalScope},
                                  "listing the configuration");
    std::map<std::string, std::string> values;
    for (int row = 0; row < found.rows(); ++row) {
        values.emplace(found.text(row, 0), found.text(row, 1));
    }
    return values;
}

Result<std::optional<std::string>> PostgresStore::set_config(std::string_view key, std::string_view value) {
    return write_config({}, key, std::string(value));
}

lb::ScopedConfig PostgresStore::scoped_config() {
    // One statement: the global values and the overrides from one snapshot.
    auto found = connection_.exec(
        "SELECT '', '', name, value FROM configuration WHERE scope = $1 "
        "UNION ALL SELECT zone, cluster, name, value FROM scoped_configuration",
        {kGlobalScope},
        "reading the configuration");
    lb::ScopedConfig config;
    for (int row = 0; row < found.rows(); ++row) {
        lb::ConfigScope scope{found.text(row, 0), found.text(row, 1)};
        auto& values = scope.is_global() ? config.global : config.overrides[std::move(scope)];
        values.emplace(found.text(row, 2), found.text(row, 3));
    }
    return config;
}

Result<std::optional<std::string>> PostgresStore::set_scoped_config(const lb::ConfigScope& scope,
                                                                    std::string_view key,
                                                                    std::string_view value) {
    return write_config(scope, key, std::string(value));
}

Result<std::optional<std::string>> PostgresStore::unset_scoped_config(const lb::ConfigScope& scope,
                                                                      std::string_view key) {
    if (auto valid = check_unset_scope(scope, key); !valid) {
        return fail(valid.error());
    }
    return write_config(scope, key, std::nullopt);
}

Result<std::optional<std::string>> PostgresStore::write_config(const lb::ConfigScope& scope,
                                                               std::string_view key,
                                                               const std::optional<std::string>& value) {
    // Checked alone first: a refused value never waits for the lock.
    if (value) {
        if (auto valid = lb::validate_config(key, *value); !valid) {
            return fail(valid.error());
        }
    }
    return connection_.retrying([&]() -> Result<std::optional<std::string>> {
        constexpr std::string_view what = "writing a configuration value";
        PgTransaction transaction(connection_, what);
        // First: the generation's row lock orders configuration writers, so
        // the check below sees every value committed before this one.
        bump_generation(what);
        const lb::ScopedConfig current = scoped_config();
        if (auto valid = lb::check_scoped_change(current, scope, key, value); !valid) {
            return fail(valid.error());
        }
        std::optional<std::string> old = value_at(current, scope, key);
        if (!value && !old) {
            return old;  // rolls the bump back
        }
        if (scope.is_global()) {
            connection_.exec(
                "INSERT INTO configuration (scope, name, value) VALUES ($1, $2, $3) "
                "ON CONFLICT (scope, name) DO UPDATE SET value = excluded.value",
                {kGlobalScope, key, *value},
                what);
        } else if (value) {
            connection_.exec(
                "INSERT INTO scoped_configuration (zone, cluster, name, value) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (zone, cluster, name) DO UPDATE SET value = excluded.value",
                {scope.zone, scope.cluster, key, *value},
                what);
        } else {
            connection_.exec(
                "DELETE FROM scoped_configuration WHERE zone = $1 AND cluster = $2 AND name = $3",
                {scope.zone, scope.cluster, key},
                what);
        }
        transaction.commit();
        return old;
    });
}

std::int64_t PostgresStore::generation() {
    auto found = connection_.exec("SELECT value FROM generation WHERE id = 1", "reading the generation");
    if (found.rows() == 0) {
        connection_.fail("reading the generation", "the generation row is missing");
    }
    return found.int64(0, 0);
}

std::optional<std::string> PostgresStore::quick_check() {
    // Nothing to check the SQLite way: the server owns the files, checks
    // their pages (data checksums, if enabled) and reports damage as errors
    // on the queries that meet it; a client cannot walk the pages.
    return std::nullopt;
}

void PostgresStore::bump_generation(std::string_view what, std::int64_t at_least) {
    connection_.exec(
        "WITH bumped AS (UPDATE generation SET value = greatest(value, $2) + 1 WHERE id = 1 RETURNING value) "
        "SELECT pg_notify($1, value::text) FROM bumped",
        {kGenerationChannel, at_least},
        what);
}

// ---- CA ----

void PostgresStore::put_ca_certificate(std::string_view pem, std::string_view fingerprint) {
    constexpr std::string_view what = "storing the CA certificate";
    auto write = [&] {
        connection_.exec(
            "INSERT INTO ca (id, pem, fingerprint) VALUES (1, $1, $2) "
            // A CA put without a chain is its own root: an imported CA's chain goes with it.
            "ON CONFLICT (id) DO UPDATE SET pem = excluded.pem, fingerprint = excluded.fingerprint, "
            "chain_pem = NULL",
            {pem, fingerprint},
            what);
        // It becomes the only trusted CA (schema v7).
        connection_.exec("DELETE FROM trusted_cas", what);
        connection_.exec(
            "INSERT INTO trusted_cas (fingerprint, pem, state, created_at) VALUES ($1, $2, 'active', 0)",
            {fingerprint, pem},
            what);
    };
    if (connection_.in_transaction()) {
        write();  // part of a copy's transaction
        return;
    }
    connection_.retrying([&] {
        PgTransaction transaction(connection_, what);
        write();
        transaction.commit();
    });
}

std::optional<std::pair<std::string, std::string>> PostgresStore::ca_certificate() {
    auto found =
        connection_.exec("SELECT pem, fingerprint FROM ca WHERE id = 1", "reading the CA certificate");
    if (found.rows() == 0) {
        return std::nullopt;
    }
    return std::make_pair(found.text(0, 0), found.text(0, 1));
}

// ---- management servers ----

void PostgresStore::register_server(std::string_view name, std::string_view address, std::int64_t now) {
    connection_.retrying([&] {
        constexpr std::string_view what = "registering a management server";
        PgTransaction transaction(connection_, what);
        bump_generation(what);
        connection_.exec(
            "INSERT INTO servers (name, address, state, last_heartbeat, agents, started_at) "
            "VALUES ($1, $2, 'up', $3, 0, $3) "
            "ON CONFLICT (name) DO UPDATE SET address = excluded.address, "
            "state = CASE WHEN servers.maintenance THEN 'maintenance' ELSE 'up' END, "
            "last_heartbeat = excluded.last_heartbeat, agents = 0, started_at = excluded.started_at",
            {name, address, now},
            what);
        // A freshly started process holds no sessions yet.
        connection_.exec(kPgClearServerHosts, {name}, what);
        forget_superseded(name);
        transaction.commit();
    });
}

Rejoin PostgresStore::rejoin_server(std::string_view name,
                                    std::string_view address,
                                    std::int64_t started_at,
                                    std::int64_t now,
                                    const std::vector<std::int64_t>& held_hosts) {
    return connection_.retrying([&] {
        constexpr std::string_view what = "marking a live management server up again";
        PgTransaction transaction(connection_, what);
        bump_generation(what);
        connection_.exec(
            "INSERT INTO servers (name, address, state, last_heartbeat, agents, started_at) "
            "VALUES ($1, $2, 'up', $3, $4, $5) "
            "ON CONFLICT (name) DO UPDATE SET address = excluded.address, "
            "state = CASE WHEN servers.maintenance THEN 'preparing' ELSE 'up' END, "
            "last_heartbeat = excluded.last_heartbeat",
            {name, address, now, static_cast<std::int64_t>(held_hosts.size()), started_at},
            what);
        if (!held_hosts.empty()) {
            connection_.exec("SELECT id FROM hosts WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
                             {pg_id_array(held_hosts)},
                             what);
        }
        Rejoin rejoin;
        for (std::int64_t id : held_hosts) {
            auto restored = connection_.exec(
                "UPDATE hosts SET connected_to = $2, last_seen = greatest(last_seen, $3) "
                "WHERE id = $1 AND connected_to IS NULL",
                {id, name, now},
                what);
            if (restored.affected() > 0) {
                ++rejoin.restored;
            } else if (const auto holder = connected_server(id); holder && *holder != name) {
                rejoin.elsewhere.emplace_back(id, *holder);
            }
        }
        transaction.commit();
        return rejoin;
    });
}

bool PostgresStore::mark_server_down(std::string_view name, std::int64_t judged_heartbeat) {
    return connection_.retrying([&] {
        constexpr std::string_view what = "marking a management server down";
        PgTransaction transaction(connection_, what);
        bump_generation(what);
        auto marked = connection_.exec(
            "UPDATE servers SET state = 'down' WHERE name = $1 AND state <> 'down' AND last_heartbeat = $2",
            {name, judged_heartbeat},
            what);
        if (marked.affected() == 0) {
            return false;  // rolls the bump back
        }
        connection_.exec(kPgClearServerHosts, {name}, what);
        forget_superseded(name);
        transaction.commit();
        return true;
    });
}

void PostgresStore::heartbeat_server(std::string_view name, std::int64_t now, std::int64_t agents) {
    connection_.exec("UPDATE servers SET last_heartbeat = $2, agents = $3 WHERE name = $1",
                     {name, now, agents},
                     "recording a server heartbeat");
}

void PostgresStore::set_server_state(std::string_view name, std::string_view state) {
    require_server_state(state, "set_server_state");
    connection_.retrying([&] {
        constexpr std::string_view what = "changing a server's state";
        PgTransaction transaction(connection_, what);
        bump_generation(what);
        auto changed = connection_.exec(
            "UPDATE servers SET state = $2 WHERE name = $1 AND state <> $2", {name, state}, what);
        if (changed.affected() > 0) {
            transaction.commit();
        }
    });
}

bool PostgresStore::compare_and_set_server_state(std::string_view name,
                                                 std::string_view expected,
                                                 std::string_view next) {
    require_state_transition(expected, next);
    return connection_.retrying([&] {
        constexpr std::string_view what = "changing a server's state";
        PgTransaction transaction(connection_, what);
        bump_generation(what);
        auto changed = connection_.exec(
            "UPDATE servers SET state = $3 WHERE name = $1 AND state = $2", {name, expected, next}, what);
        if (changed.affected() == 0) {
            return false;  // rolls the bump back
        }
        transaction.commit();
        return true;
    });
}

std::vector<ServerRecord> PostgresStore::list_servers() {
    auto found = connection_.exec(
        "SELECT name, address, state, last_heartbeat, agents, started_at, maintenance, peer_address "
        "FROM servers ORDER BY name COLLATE \"C\"",
        "listing management servers");
    std::vector<ServerRecord> servers;
    for (int row = 0; row < found.rows(); ++row) {
        servers.push_back(ServerRecord{found.text(row, 0),
                                       found.text(row, 1),
                                       found.text(row, 2),
                                       found.int64(row, 3),
                                       found.int64(row, 4),
                                       found.int64(row, 5),
                                       found.boolean(row, 6),
                                       found.text(row, 7)});
    }
    return servers;
}

void PostgresStore::set_peer_address(std::string_view server, std::string_view address) {
    connection_.retrying([&] {
        constexpr std::string_view what = "recording a server's peer link address";
        PgTransaction transaction(connection_, what);
        bump_generation(what);
        auto changed =
            connection_.exec("UPDATE servers SET peer_address = $2 WHERE name = $1 AND peer_address <> $2",
                             {server, address},
                             what);
        if (changed.affected() > 0) {
            transaction.commit();
        }
    });
}

}  // namespace agentlb::store
