// Opening, configuration, generation, CA and management servers.

#include "common/store/sqlite_store.hpp"

#include "common/lb/config_keys.hpp"
#include "common/store/config_rules.hpp"
#include "common/store/schema.hpp"
#include "common/store/server_rules.hpp"

#include <algorithm>
#include <stdexcept>

namespace agentlb::store {

namespace {

// The global values' scope in `configuration`; overrides per zone and
// cluster live in scoped_configuration (schema v5).
constexpr std::string_view kGlobalScope = "global";

}  // namespace

Store::~Store() = default;

std::unique_ptr<Store> open_sqlite_store(const std::string& path, OpenMode mode) {
    return std::make_unique<SqliteStore>(path, mode);
}

SqliteStore::SqliteStore(const std::string& path, OpenMode mode) : connection_(path, mode) {
    configure_connection(connection_, mode);
    migrate(connection_);
}

// ---- configuration ----

std::optional<std::string> SqliteStore::get_config(std::string_view key) {
    auto query = connection_.query("SELECT value FROM configuration WHERE scope = ?1 AND name = ?2",
                                   "reading a configuration value");
    query.bind(1, kGlobalScope).bind(2, key);
    if (!query.step()) {
        return std::nullopt;
    }
    return query.text(0);
}

std::map<std::string, std::string> SqliteStore::list_config() {
    auto query = connection_.query("SELECT name, value FROM configuration WHERE scope = ?1 ORDER BY name",
                                   "listing the configuration");
    query.bind(1, kGlobalScope);
    std::map<std::string, std::string> values;
    while (query.step()) {
        values.emplace(query.text(0), query.text(1));
    }
    return values;
}

Result<std::optional<std::string>> SqliteStore::set_config(std::string_view key, std::string_view value) {
    return write_config({}, key, std::string(value));
}

lb::ScopedConfig SqliteStore::scoped_config() {
    // One statement: the global values and the overrides from one snapshot.
    auto query = connection_.query(
        "SELECT '', '', name, value FROM configuration WHERE scope = ?1 "
        "UNION ALL SELECT zone, cluster, name, value FROM scoped_configuration",
        "reading the configuration");
    query.bind(1, kGlobalScope);
    lb::ScopedConfig config;
    while (query.step()) {
        lb::ConfigScope scope{query.text(0), query.text(1)};
        auto& values = scope.is_global() ? config.global : config.overrides[std::move(scope)];
        values.emplace(query.text(2), query.text(3));
    }
    return config;
}

Result<std::optional<std::string>> SqliteStore::set_scoped_config(const lb::ConfigScope& scope,
                                                                  std::string_view key,
                                                                  std::string_view value) {
    return write_config(scope, key, std::string(value));
}

Result<std::optional<std::string>> SqliteStore::unset_scoped_config(const lb::ConfigScope& scope,
                                                                    std::string_view key) {
    if (auto valid = check_unset_scope(scope, key); !valid) {
        return fail(valid.error());
    }
    return write_config(scope, key, std::nullopt);
}

Result<std::optional<std::string>> SqliteStore::write_config(const lb::ConfigScope& scope,
                                                             std::string_view key,
                                                             const std::optional<std::string>& value) {
    // Checked alone first: a refused value never waits for the write lock.
    if (value) {
        if (auto valid = lb::validate_config(key, *value); !valid) {
            return fail(valid.error());
        }
    }
    WriteTransaction transaction(connection_, "writing a configuration value");
    const lb::ScopedConfig current = scoped_config();
    if (auto valid = lb::check_scoped_change(current, scope, key, value); !valid) {
        return fail(valid.error());
    }
    std::optional<std::string> old = value_at(current, scope, key);
    if (!value && !old) {
        return old;
    }
    if (scope.is_global()) {
        connection_
            .query(
                "INSERT INTO configuration (scope, name, value) VALUES (?1, ?2, ?3) "
                "ON CONFLICT (scope, name) DO UPDATE SET value = excluded.value",
                "writing a configuration value")
            .bind(1, kGlobalScope)
            .bind(2, key)
            .bind(3, *value)
            .run();
    } else if (value) {
        connection_
            .query(
                "INSERT INTO scoped_configuration (zone, cluster, name, value) VALUES (?1, ?2, ?3, ?4) "
                "ON CONFLICT (zone, cluster, name) DO UPDATE SET value = excluded.value",
                "writing a configuration value")
            .bind(1, scope.zone)
            .bind(2, scope.cluster)
            .bind(3, key)
            .bind(4, *value)
            .run();
    } else {
        connection_
            .query("DELETE FROM scoped_configuration WHERE zone = ?1 AND cluster = ?2 AND name = ?3",
                   "removing a configuration value")
            .bind(1, scope.zone)
            .bind(2, scope.cluster)
            .bind(3, key)
            .run();
    }
    bump_generation();
    transaction.commit();
    return old;
}

std::int64_t SqliteStore::generation() {
    auto query = connection_.query("SELECT value FROM generation WHERE id = 1", "reading the generation");
    if (!query.step()) {
        throw StoreError("store \"" + connection_.path() + "\": the generation row is missing");
    }
    return query.int64(0);
}

std::optional<std::string> SqliteStore::quick_check() {
    // quick_check(1): stop at the first problem; the rest only adds reading time.
    auto query = connection_.query("PRAGMA quick_check(1)", "checking the file (PRAGMA quick_check)");
    if (!query.step()) {
        return std::string("PRAGMA quick_check returned no result");
    }
    std::string first = query.text(0);
    if (first == "ok") {
        return std::nullopt;
    }
    // "*** in database main ***\nPage 7: ...": one line, for one log line.
    std::replace(first.begin(), first.end(), '\n', ' ');
    return first;
}

void SqliteStore::bump_generation() {
    connection_.query("UPDATE generation SET value = value + 1 WHERE id = 1", "bumping the generation").run();
}

// ---- CA ----

void SqliteStore::put_ca_certificate(std::string_view pem, std::string_view fingerprint) {
    constexpr std::string_view what = "storing the CA certificate";
    // Part of a copy's transaction, or one of its own.
    std::optional<WriteTransaction> transaction;
    if (!connection_.in_transaction()) {
        transaction.emplace(connection_, what);
    }
    connection_
        .query(
            "INSERT INTO ca (id, pem, fingerprint) VALUES (1, ?1, ?2) "
            // A CA put without a chain is its own root: an imported CA's chain goes with it.
            "ON CONFLICT (id) DO UPDATE SET pem = excluded.pem, fingerprint = excluded.fingerprint, "
            "chain_pem = NULL",
            what)
        .bind(1, pem)
        .bind(2, fingerprint)
        .run();
    // It becomes the only trusted CA (schema v7).
    connection_.query("DELETE FROM trusted_cas", what).run();
    connection_
        .query("INSERT INTO trusted_cas (fingerprint, pem, state, created_at) VALUES (?1, ?2, 'active', 0)",
               what)
        .bind(1, fingerprint)
        .bind(2, pem)
        .run();
    if (transaction) {
        transaction->commit();
    }
}

std::optional<std::pair<std::string, std::string>> SqliteStore::ca_certificate() {
    auto query =
        connection_.query("SELECT pem, fingerprint FROM ca WHERE id = 1", "reading the CA certificate");
    if (!query.step()) {
        return std::nullopt;
    }
    return std::make_pair(query.text(0), query.text(1));
}

// ---- management servers ----

void SqliteStore::register_server(std::string_view name, std::string_view address, std::int64_t now) {
    WriteTransaction transaction(connection_, "registering a management server");
    connection_
        .query(
            "INSERT INTO servers (name, address, state, last_heartbeat, agents, started_at) "
            "VALUES (?1, ?2, 'up', ?3, 0, ?3) "
            "ON CONFLICT (name) DO UPDATE SET address = excluded.address, "
            "state = CASE WHEN servers.maintenance <> 0 THEN 'maintenance' ELSE 'up' END, "
            "last_heartbeat = excluded.last_heartbeat, agents = 0, started_at = excluded.started_at",
            "registering a management server")
        .bind(1, name)
        .bind(2, address)
        .bind(3, now)
        .run();
    // A freshly started process holds no sessions yet.
    connection_
        .query("UPDATE hosts SET connected_to = NULL WHERE connected_to = ?1",
               "registering a management server")
        .bind(1, name)
        .run();
    forget_superseded(name);
    bump_generation();
    transaction.commit();
}

Rejoin SqliteStore::rejoin_server(std::string_view name,
                                  std::string_view address,
                                  std::int64_t started_at,
                                  std::int64_t now,
                                  const std::vector<std::int64_t>& held_hosts) {
    WriteTransaction transaction(connection_, "marking a live management server up again");
    connection_
        .query(
            "INSERT INTO servers (name, address, state, last_heartbeat, agents, started_at) "
            "VALUES (?1, ?2, 'up', ?3, ?4, ?5) "
            "ON CONFLICT (name) DO UPDATE SET address = excluded.address, "
            "state = CASE WHEN servers.maintenance <> 0 THEN 'preparing' ELSE 'up' END, "
            "last_heartbeat = excluded.last_heartbeat",
            "marking a live management server up again")
        .bind(1, name)
        .bind(2, address)
        .bind(3, now)
        .bind(4, static_cast<std::int64_t>(held_hosts.size()))
        .bind(5, started_at)
        .run();
    Rejoin rejoin;
    for (std::int64_t id : held_hosts) {
        connection_
            .query(
                "UPDATE hosts SET connected_to = ?2, last_seen = max(last_seen, ?3) "
                "WHERE id = ?1 AND connected_to IS NULL",
                "marking a live management server up again")
            .bind(1, id)
            .bind(2, name)
            .bind(3, now)
            .run();
        if (connection_.changes() > 0) {
            ++rejoin.restored;
        } else if (const auto holder = connected_server(id); holder && *holder != name) {
            rejoin.elsewhere.emplace_back(id, *holder);
        }
    }
    bump_generation();
    transaction.commit();
    return rejoin;
}

bool SqliteStore::mark_server_down(std::string_view name, std::int64_t judged_heartbeat) {
    WriteTransaction transaction(connection_, "marking a management server down");
    connection_
        .query(
            "UPDATE servers SET state = 'down' WHERE name = ?1 AND state <> 'down' AND last_heartbeat = ?2",
            "marking a management server down")
        .bind(1, name)
        .bind(2, judged_heartbeat)
        .run();
    if (connection_.changes() == 0) {
        return false;
    }
    connection_
        .query("UPDATE hosts SET connected_to = NULL WHERE connected_to = ?1",
               "marking a management server down")
        .bind(1, name)
        .run();
    forget_superseded(name);
    bump_generation();
    transaction.commit();
    return true;
}

void SqliteStore::heartbeat_server(std::string_view name, std::int64_t now, std::int64_t agents) {
    connection_
        .query("UPDATE servers SET last_heartbeat = ?2, agents = ?3 WHERE name = ?1",
               "recording a server heartbeat")
        .bind(1, name)
        .bind(2, now)
        .bind(3, agents)
        .run();
}

void SqliteStore::set_server_state(std::string_view name, std::string_view state) {
    require_server_state(state, "set_server_state");
    WriteTransaction transaction(connection_, "changing a server's state");
    connection_
        .query("UPDATE servers SET state = ?2 WHERE name = ?1 AND state <> ?2", "changing a server's state")
        .bind(1, name)
        .bind(2, state)
        .run();
    if (connection_.changes() > 0) {
        bump_generation();
    }
    transaction.commit();
}

bool SqliteStore::compare_and_set_server_state(std::string_view name,
                                               std::string_view expected,
                                               std::string_view next) {
    require_state_transition(expected, next);
    WriteTransaction transaction(connection_, "changing a server's state");
    connection_
        .query("UPDATE servers SET state = ?3 WHERE name = ?1 AND state = ?2", "changing a server's state")
        .bind(1, name)
        .bind(2, expected)
        .bind(3, next)
        .run();
    if (connection_.changes() == 0) {
        return false;
    }
    bump_generation();
    transaction.commit();
    return true;
}

std::vector<ServerRecord> SqliteStore::list_servers() {
    auto query = connection_.query(
        "SELECT name, address, state, last_heartbeat, agents, started_at, maintenance, peer_address "
        "FROM servers ORDER BY name",
        "listing management servers");
    std::vector<ServerRecord> servers;
    while (query.step()) {
        servers.push_back(ServerRecord{query.text(0),
                                       query.text(1),
                                       query.text(2),
                                       query.int64(3),
                                       query.int64(4),
                                       query.int64(5),
                                       query.int64(6) != 0,
                                       query.text(7)});
    }
    return servers;
}

void SqliteStore::set_peer_address(std::string_view server, std::string_view address) {
    constexpr std::string_view what = "recording a server's peer link address";
    WriteTransaction transaction(connection_, what);
    connection_.query("UPDATE servers SET peer_address = ?2 WHERE name = ?1 AND peer_address <> ?2", what)
        .bind(1, server)
        .bind(2, address)
        .run();
    if (connection_.changes() > 0) {
        bump_generation();
    }
    transaction.commit();
}

}  // namespace agentlb::store
