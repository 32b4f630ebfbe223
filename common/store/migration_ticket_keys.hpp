#pragma once

// v9: the keys of TLS session tickets, shared by every management server so
// that an agent resumes its session on whichever server it reaches. `name`
// is the 16-byte name each ticket carries; `wrapped` the key material
// encrypted under a key derived from the CA's private key (never plain).
// The newest row encrypts; the servers keep two rows (ensure_ticket_keys).

#include "common/store/migrations.hpp"

namespace agentlb::store {

inline constexpr Migration kTicketKeysMigration = {
    R"sql(
    CREATE TABLE ticket_keys (
        name       BLOB PRIMARY KEY CHECK (length(name) = 16),
        wrapped    BLOB NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX ticket_keys_by_age ON ticket_keys (created_at);
    )sql",
    R"sql(
    CREATE TABLE ticket_keys (
        name       BYTEA PRIMARY KEY CHECK (length(name) = 16),
        wrapped    BYTEA NOT NULL,
        created_at BIGINT NOT NULL
    );
    CREATE INDEX ticket_keys_by_age ON ticket_keys (created_at);
    )sql"};

}  // namespace agentlb::store
