#pragma once

// The schema's versions, one list for both backends: version v + 1 is
// reached from v by kMigrations[v], in SQLite's or PostgreSQL's dialect.
// Append only: a released entry never changes, and each version means the
// same tables in both.

#include <array>

namespace agentlb::store {

// The schema version this build writes.
inline constexpr int kSchemaVersion = 10;

struct Migration {
    const char* sqlite;
    const char* postgresql;
};

extern const std::array<Migration, kSchemaVersion> kMigrations;

}  // namespace agentlb::store
