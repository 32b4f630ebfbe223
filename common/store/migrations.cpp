#include "common/store/migrations.hpp"

#include "common/store/migration_applications.hpp"
#include "common/store/migration_ca_chain.hpp"
#include "common/store/migration_ticket_keys.hpp"

namespace agentlb::store {

// PostgreSQL: BIGINT for SQLite's 64-bit INTEGER; a seq identity column
// where SQLite's code orders by rowid (issue order); host_ids for
// AUTOINCREMENT's sqlite_sequence row.
const std::array<Migration, kSchemaVersion> kMigrations = {{
    // v1
    {R"sql(
    CREATE TABLE configuration (
        scope TEXT NOT NULL,
        name  TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (scope, name)
    );
    CREATE TABLE hosts (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        name         TEXT NOT NULL UNIQUE,
        zone         TEXT NOT NULL,
        connected_to TEXT,
        last_seen    INTEGER NOT NULL DEFAULT 0,
        created_at   INTEGER NOT NULL
    );
    CREATE INDEX hosts_by_zone ON hosts (zone, id);
    CREATE INDEX hosts_by_server ON hosts (connected_to) WHERE connected_to IS NOT NULL;
    CREATE TABLE certificates (
        serial     TEXT PRIMARY KEY,
        host_id    INTEGER NOT NULL,
        host_name  TEXT NOT NULL,
        not_after  INTEGER NOT NULL,
        revoked    INTEGER NOT NULL DEFAULT 0,
        revoked_at INTEGER
    );
    CREATE INDEX certificates_by_host ON certificates (host_id);
    CREATE INDEX certificates_by_host_name ON certificates (host_name);
    CREATE INDEX certificates_revoked ON certificates (serial) WHERE revoked <> 0;
    CREATE TABLE servers (
        name           TEXT PRIMARY KEY,
        address        TEXT NOT NULL,
        state          TEXT NOT NULL,
        last_heartbeat INTEGER NOT NULL,
        agents         INTEGER NOT NULL DEFAULT 0,
        started_at     INTEGER NOT NULL
    );
    CREATE TABLE tokens (
        hash       TEXT PRIMARY KEY,
        zone       TEXT,
        name       TEXT,
        expires_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        used_at    INTEGER
    );
    CREATE TABLE generation (
        id    INTEGER PRIMARY KEY CHECK (id = 1),
        value INTEGER NOT NULL
    );
    INSERT INTO generation (id, value) VALUES (1, 0);
    CREATE TABLE ca (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        pem         TEXT NOT NULL,
        fingerprint TEXT NOT NULL
    );
    )sql",
     R"sql(
    CREATE TABLE configuration (
        scope TEXT NOT NULL,
        name  TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (scope, name)
    );
    -- Ids come from host_ids.last (SQLite's sqlite_sequence), not from a
    -- sequence: a rolled-back enrolment gives no id away, as in SQLite.
    CREATE TABLE hosts (
        id           BIGINT PRIMARY KEY,
        name         TEXT NOT NULL UNIQUE,
        zone         TEXT NOT NULL,
        connected_to TEXT,
        last_seen    BIGINT NOT NULL DEFAULT 0,
        created_at   BIGINT NOT NULL
    );
    CREATE INDEX hosts_by_zone ON hosts (zone, id);
    CREATE INDEX hosts_by_server ON hosts (connected_to) WHERE connected_to IS NOT NULL;
    -- The highest host id ever given, removed hosts' included.
    CREATE TABLE host_ids (
        id   INTEGER PRIMARY KEY CHECK (id = 1),
        last BIGINT NOT NULL
    );
    INSERT INTO host_ids (id, last) VALUES (1, 0);
    -- seq: the issue order (SQLite's rowid).
    CREATE TABLE certificates (
        seq        BIGINT GENERATED ALWAYS AS IDENTITY,
        serial     TEXT PRIMARY KEY,
        host_id    BIGINT NOT NULL,
        host_name  TEXT NOT NULL,
        not_after  BIGINT NOT NULL,
        revoked    BOOLEAN NOT NULL DEFAULT false,
        revoked_at BIGINT
    );
    CREATE INDEX certificates_by_host ON certificates (host_id);
    CREATE INDEX certificates_by_host_name ON certificates (host_name, seq);
    CREATE INDEX certificates_revoked ON certificates (serial) WHERE revoked;
    CREATE TABLE servers (
        name           TEXT PRIMARY KEY,
        address        TEXT NOT NULL,
        state          TEXT NOT NULL,
        last_heartbeat BIGINT NOT NULL,
        agents         BIGINT NOT NULL DEFAULT 0,
        started_at     BIGINT NOT NULL
    );
    CREATE TABLE tokens (
        hash       TEXT PRIMARY KEY,
        zone       TEXT,
        name       TEXT,
        expires_at BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        used_at    BIGINT
    );
    CREATE TABLE generation (
        id    INTEGER PRIMARY KEY CHECK (id = 1),
        value BIGINT NOT NULL
    );
    INSERT INTO generation (id, value) VALUES (1, 0);
    CREATE TABLE ca (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        pem         TEXT NOT NULL,
        fingerprint TEXT NOT NULL
    );
    )sql"},
    // v2: host names are unique without regard to case, checked at enrolment.
    // Not a UNIQUE index: stores may already hold names that differ only in
    // case, and those rows keep working.
    {R"sql(
    CREATE INDEX hosts_by_name_nocase ON hosts (name COLLATE NOCASE);
    )sql",
     R"sql(
    -- lower() under "C" folds ASCII only, as SQLite's NOCASE does.
    CREATE INDEX hosts_by_name_nocase ON hosts (lower(name COLLATE "C"));
    )sql"},
    // v3: a host's session recorded on another server than the one its
    // record named, for that server to close its older session.
    {R"sql(
    CREATE TABLE superseded (
        host_id   INTEGER NOT NULL,
        server    TEXT NOT NULL,
        by_server TEXT NOT NULL,
        at        INTEGER NOT NULL
    );
    CREATE INDEX superseded_by_server ON superseded (server);
    )sql",
     R"sql(
    CREATE TABLE superseded (
        seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        host_id   BIGINT NOT NULL,
        server    TEXT NOT NULL,
        by_server TEXT NOT NULL,
        at        BIGINT NOT NULL
    );
    CREATE INDEX superseded_by_server ON superseded (server, seq);
    )sql"},
    // v4: the operator's maintenance request per server (servers.state gains
    // preparing and maintenance beside up and down), and rebalance requests.
    // AUTOINCREMENT / identity: an id is never given twice, so a server that
    // remembers the last id it acted on never skips nor repeats a request.
    {R"sql(
    ALTER TABLE servers ADD COLUMN maintenance INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE rebalances (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        target       TEXT,
        requested_at INTEGER NOT NULL
    );
    )sql",
     R"sql(
    ALTER TABLE servers ADD COLUMN maintenance BOOLEAN NOT NULL DEFAULT false;
    CREATE TABLE rebalances (
        id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        target       TEXT,
        requested_at BIGINT NOT NULL
    );
    )sql"},
    // v5: configuration per zone and per cluster. Hosts get a cluster ('':
    // none; a cluster belongs to its zone), join tokens the cluster they give.
    // Overrides live in a table of their own, so every reader of the global
    // configuration (scope 'global' of `configuration`) reads as before.
    // zone is never '' there; cluster '' = the whole zone.
    {R"sql(
    ALTER TABLE hosts ADD COLUMN cluster TEXT NOT NULL DEFAULT '';
    ALTER TABLE tokens ADD COLUMN cluster TEXT;
    CREATE TABLE scoped_configuration (
        zone    TEXT NOT NULL,
        cluster TEXT NOT NULL,
        name    TEXT NOT NULL,
        value   TEXT NOT NULL,
        PRIMARY KEY (zone, cluster, name)
    );
    )sql",
     R"sql(
    ALTER TABLE hosts ADD COLUMN cluster TEXT NOT NULL DEFAULT '';
    ALTER TABLE tokens ADD COLUMN cluster TEXT;
    CREATE TABLE scoped_configuration (
        zone    TEXT NOT NULL,
        cluster TEXT NOT NULL,
        name    TEXT NOT NULL,
        value   TEXT NOT NULL,
        PRIMARY KEY (zone, cluster, name)
    );
    )sql"},
    // v6: certificates as objects. Each records what it is for (agent or
    // server: servers record theirs, host_id 0 and the server's name), its
    // CN, the fingerprint of the CA that signed it and when; existing rows
    // were all agent certificates named after their host and signed by the
    // store's only CA. A join token may be bound to a host's id as well as
    // its name (agentlbctl cert reissue).
    {R"sql(
    ALTER TABLE certificates ADD COLUMN kind TEXT NOT NULL DEFAULT 'agent';
    ALTER TABLE certificates ADD COLUMN subject TEXT NOT NULL DEFAULT '';
    ALTER TABLE certificates ADD COLUMN issuer TEXT NOT NULL DEFAULT '';
    ALTER TABLE certificates ADD COLUMN issued_at INTEGER NOT NULL DEFAULT 0;
    UPDATE certificates SET subject = host_name,
                            issuer = coalesce((SELECT fingerprint FROM ca WHERE id = 1), '');
    CREATE INDEX certificates_live_by_not_after ON certificates (kind, not_after) WHERE revoked = 0;
    ALTER TABLE tokens ADD COLUMN host_id INTEGER;
    )sql",
     R"sql(
    ALTER TABLE certificates ADD COLUMN kind TEXT NOT NULL DEFAULT 'agent';
    ALTER TABLE certificates ADD COLUMN subject TEXT NOT NULL DEFAULT '';
    ALTER TABLE certificates ADD COLUMN issuer TEXT NOT NULL DEFAULT '';
    ALTER TABLE certificates ADD COLUMN issued_at BIGINT NOT NULL DEFAULT 0;
    UPDATE certificates SET subject = host_name,
                            issuer = coalesce((SELECT fingerprint FROM ca WHERE id = 1), '');
    CREATE INDEX certificates_live_by_not_after ON certificates (kind, not_after) WHERE NOT revoked;
    ALTER TABLE tokens ADD COLUMN host_id BIGINT;
    )sql"},
    // v7: the CAs the cluster trusts, for a CA rotation (agentlbctl ca
    // rotate): the active CA (the one `ca` holds, which issues) and, during
    // a rotation, the previous one; cross_pem is the active CA's certificate
    // signed by the previous CA's key. Reissue requests work like rebalance
    // requests. The index finds the live certificates of a CA (finish).
    {R"sql(
    CREATE TABLE trusted_cas (
        fingerprint TEXT PRIMARY KEY,
        pem         TEXT NOT NULL,
        cross_pem   TEXT NOT NULL DEFAULT '',
        state       TEXT NOT NULL CHECK (state IN ('active', 'previous')),
        created_at  INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX trusted_cas_one_per_state ON trusted_cas (state);
    INSERT INTO trusted_cas (fingerprint, pem, state, created_at)
        SELECT fingerprint, pem, 'active', 0 FROM ca WHERE id = 1;
    CREATE TABLE reissues (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        rate         INTEGER NOT NULL,
        requested_at INTEGER NOT NULL
    );
    CREATE INDEX certificates_live_by_issuer ON certificates (issuer) WHERE revoked = 0;
    )sql",
     R"sql(
    CREATE TABLE trusted_cas (
        fingerprint TEXT PRIMARY KEY,
        pem         TEXT NOT NULL,
        cross_pem   TEXT NOT NULL DEFAULT '',
        state       TEXT NOT NULL CHECK (state IN ('active', 'previous')),
        created_at  BIGINT NOT NULL
    );
    CREATE UNIQUE INDEX trusted_cas_one_per_state ON trusted_cas (state);
    INSERT INTO trusted_cas (fingerprint, pem, state, created_at)
        SELECT fingerprint, pem, 'active', 0 FROM ca WHERE id = 1;
    CREATE TABLE reissues (
        id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        rate         BIGINT NOT NULL,
        requested_at BIGINT NOT NULL
    );
    CREATE INDEX certificates_live_by_issuer ON certificates (issuer) WHERE NOT revoked;
    )sql"},
    // v8: the chain of an imported CA (migration_ca_chain.hpp).
    kCaChainMigration,
    // v9: TLS session ticket keys shared by the servers (migration_ticket_keys.hpp).
    kTicketKeysMigration,
    // v10: servers' peer link addresses and the applications each server holds
    // (migration_applications.hpp).
    kApplicationsMigration,
}};

}  // namespace agentlb::store
