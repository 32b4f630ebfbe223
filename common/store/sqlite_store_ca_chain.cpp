// The chain of an imported CA (schema v7-import, migration_ca_chain.hpp).

#include "common/store/sqlite_store.hpp"

#include <optional>
#include <string>

namespace agentlb::store {

void SqliteStore::put_ca_with_chain(std::string_view pem,
                                    std::string_view fingerprint,
                                    std::string_view chain_pem) {
    // NULL, not '', for "its own root": what a CA made by `ca init` holds.
    const std::optional<std::string> chain =
        chain_pem.empty() ? std::nullopt : std::optional<std::string>(chain_pem);
    connection_
        .query(
            "INSERT INTO ca (id, pem, fingerprint, chain_pem) VALUES (1, ?1, ?2, ?3) "
            "ON CONFLICT (id) DO UPDATE SET pem = excluded.pem, fingerprint = excluded.fingerprint, "
            "chain_pem = excluded.chain_pem",
            "storing the imported CA certificate and its chain")
        .bind(1, pem)
        .bind(2, fingerprint)
        .bind(3, chain)
        .run();
}

std::string SqliteStore::ca_chain() {
    auto query = connection_.query("SELECT chain_pem FROM ca WHERE id = 1", "reading the CA chain");
    if (!query.step()) {
        return {};
    }
    return query.optional_text(0).value_or(std::string());
}

}  // namespace agentlb::store
