// The chain of an imported CA (schema v7-import, migration_ca_chain.hpp).

#include "common/store/postgres_store.hpp"

#include <optional>
#include <string>

namespace agentlb::store {

void PostgresStore::put_ca_with_chain(std::string_view pem,
                                      std::string_view fingerprint,
                                      std::string_view chain_pem) {
    // NULL, not '', for "its own root": what a CA made by `ca init` holds.
    const std::optional<std::string> chain =
        chain_pem.empty() ? std::nullopt : std::optional<std::string>(chain_pem);
    connection_.exec(
        "INSERT INTO ca (id, pem, fingerprint, chain_pem) VALUES (1, $1, $2, $3) "
        "ON CONFLICT (id) DO UPDATE SET pem = excluded.pem, fingerprint = excluded.fingerprint, "
        "chain_pem = excluded.chain_pem",
        {pem, fingerprint, chain},
        "storing the imported CA certificate and its chain");
}

std::string PostgresStore::ca_chain() {
    auto found = connection_.exec("SELECT chain_pem FROM ca WHERE id = 1", "reading the CA chain");
    if (found.rows() == 0) {
        return {};
    }
    return found.optional_text(0, 0).value_or(std::string());
}

}  // namespace agentlb::store
