#pragma once

// v8: an imported CA keeps the certificates above it. `ca.chain_pem` holds its issuers as PEM, nearest
// first, the self-signed root last; NULL for a CA made by `ca init` (its own
// root). A column of the one-row `ca` table, so the CA and its chain are
// written and read together.

#include "common/store/migrations.hpp"

namespace agentlb::store {

inline constexpr Migration kCaChainMigration = {
    R"sql(
    ALTER TABLE ca ADD COLUMN chain_pem TEXT;
    )sql",
    R"sql(
    ALTER TABLE ca ADD COLUMN chain_pem TEXT;
    )sql"};

}  // namespace agentlb::store
