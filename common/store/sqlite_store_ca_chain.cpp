// The chain of an imported CA (schema v8, migration_ca_chain.hpp).

#include "common/store/sqlite_handle.hpp"
#include "common/store/sqlite_store.hpp"

#include <optional>
#include <string>

namespace agentlb::store {

void SqliteStore::put_ca_with_chain(std::string_view pem,
                                    std::string_view fingerprint,
                                    std::string_view chain_pem) {
    constexpr std::string_view what = "storing the imported CA certificate and its chain";
    std::optional<WriteTransaction> transaction;
    if (!connection_.in_transaction()) {
        transaction.emplace(connection_, what);
    }
    // The CA row and the trusted CAs (it becomes the only one), then its chain.
    put_ca_certificate(pem, fingerprint);
    // NULL, not '', for "its own root": what a CA made by `ca init` holds.
    const std::optional<std::string> chain =
        chain_pem.empty() ? std::nullopt : std::optional<std::string>(chain_pem);
    connection_.query("UPDATE ca SET chain_pem = ?1 WHERE id = 1", what).bind(1, chain).run();
    if (transaction) {
        transaction->commit();
    }
}

std::string SqliteStore::ca_chain() {
    auto query = connection_.query("SELECT chain_pem FROM ca WHERE id = 1", "reading the CA chain");
    if (!query.step()) {
        return {};
    }
    return query.optional_text(0).value_or(std::string());
}

}  // namespace agentlb::store
