// The chain of an imported CA (schema v8, migration_ca_chain.hpp).

#include "common/store/pg_handle.hpp"
#include "common/store/postgres_store.hpp"

#include <optional>
#include <string>

namespace agentlb::store {

void PostgresStore::put_ca_with_chain(std::string_view pem,
                                      std::string_view fingerprint,
                                      std::string_view chain_pem) {
    constexpr std::string_view what = "storing the imported CA certificate and its chain";
    // NULL, not '', for "its own root": what a CA made by `ca init` holds.
    const std::optional<std::string> chain =
        chain_pem.empty() ? std::nullopt : std::optional<std::string>(chain_pem);
    // The CA row and the trusted CAs (it becomes the only one), then its chain.
    auto write = [&] {
        put_ca_certificate(pem, fingerprint);
        connection_.exec("UPDATE ca SET chain_pem = $1 WHERE id = 1", {chain}, what);
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

std::string PostgresStore::ca_chain() {
    auto found = connection_.exec("SELECT chain_pem FROM ca WHERE id = 1", "reading the CA chain");
    if (found.rows() == 0) {
        return {};
    }
    return found.optional_text(0, 0).value_or(std::string());
}

}  // namespace agentlb::store
