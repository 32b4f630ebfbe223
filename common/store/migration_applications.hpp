#pragma once

// v10: the server-to-server message link (issue 19). `servers.peer_address`
// is the host:port of a server's peer link ('' = it has none);
// `applications` lists the application connections each server holds on its
// local app socket, `epoch` being the one its client named in its hello. A
// server writes only its own rows (and clears them when it starts); the
// index finds an application's instances by name, oldest epoch first.

#include "common/store/migrations.hpp"

namespace agentlb::store {

inline constexpr Migration kApplicationsMigration = {
    R"sql(
    ALTER TABLE servers ADD COLUMN peer_address TEXT NOT NULL DEFAULT '';
    CREATE TABLE applications (
        server       TEXT NOT NULL,
        name         TEXT NOT NULL,
        epoch        INTEGER NOT NULL,
        connected_at INTEGER NOT NULL,
        PRIMARY KEY (server, name, epoch)
    );
    CREATE INDEX applications_by_name ON applications (name, epoch, server);
    )sql",
    R"sql(
    ALTER TABLE servers ADD COLUMN peer_address TEXT NOT NULL DEFAULT '';
    CREATE TABLE applications (
        server       TEXT NOT NULL,
        name         TEXT NOT NULL,
        epoch        BIGINT NOT NULL,
        connected_at BIGINT NOT NULL,
        PRIMARY KEY (server, name, epoch)
    );
    -- "C": servers in byte order, as SQLite sorts them.
    CREATE INDEX applications_by_name ON applications (name, epoch, server COLLATE "C");
    )sql"};

}  // namespace agentlb::store
