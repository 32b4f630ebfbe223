// Copying a whole store: export_contents and import_contents.

#include "common/store/sqlite_store.hpp"

#include <algorithm>

namespace agentlb::store {

StoreContents SqliteStore::export_contents() {
    // A write transaction only for its snapshot: nothing is written.
    WriteTransaction transaction(connection_, "reading the whole store");
    StoreContents contents;
    contents.config = list_config();
    contents.scoped_config = scoped_config().overrides;
    contents.hosts = list_hosts();
    for (auto& host : contents.hosts) {
        host.connected_to.reset();
    }
    contents.certificates = list_certificates(CertificateFilter{});
    {
        auto query = connection_.query(
            "SELECT hash, zone, name, expires_at, created_at, used_at, cluster, host_id FROM tokens "
            "ORDER BY created_at, hash",
            "reading every join token");
        while (query.step()) {
            contents.tokens.push_back(TokenRecord{TokenSpec{query.text(0),
                                                            query.optional_text(1),
                                                            query.optional_text(2),
                                                            query.int64(3),
                                                            query.int64(4),
                                                            query.optional_text(6),
                                                            query.optional_int64(7)},
                                                  query.optional_int64(5)});
        }
    }
    contents.ca = ca_certificate();
    contents.ca_chain = ca_chain();
    contents.generation = generation();
    {
        auto query = connection_.query("SELECT seq FROM sqlite_sequence WHERE name = 'hosts'",
                                       "reading the last host id");
        if (query.step()) {
            contents.last_host_id = query.int64(0);
        }
    }
    for (const auto& host : contents.hosts) {
        contents.last_host_id = std::max(contents.last_host_id, host.id);
    }
    return contents;
}

Status SqliteStore::import_contents(const StoreContents& contents) {
    WriteTransaction transaction(connection_, "copying into the store");
    {
        auto query = connection_.query(
            "SELECT (SELECT count(*) FROM hosts), (SELECT count(*) FROM certificates), "
            "(SELECT count(*) FROM tokens), (SELECT count(*) FROM ca)",
            "checking that the store is empty");
        query.step();
        if (query.int64(0) + query.int64(1) + query.int64(2) + query.int64(3) != 0) {
            return fail("the store \"" + connection_.path() + "\" is not empty (it holds " +
                        std::to_string(query.int64(0)) + " hosts, " + std::to_string(query.int64(1)) +
                        " certificates, " + std::to_string(query.int64(2)) + " join tokens and " +
                        std::to_string(query.int64(3)) + " CA); copy only into a new store");
        }
    }
    for (const auto& [name, value] : contents.config) {
        connection_
            .query(
                "INSERT INTO configuration (scope, name, value) VALUES ('global', ?1, ?2) "
                "ON CONFLICT (scope, name) DO UPDATE SET value = excluded.value",
                "copying the configuration")
            .bind(1, name)
            .bind(2, value)
            .run();
    }
    for (const auto& [scope, values] : contents.scoped_config) {
        for (const auto& [name, value] : values) {
            connection_
                .query(
                    "INSERT INTO scoped_configuration (zone, cluster, name, value) VALUES (?1, ?2, ?3, ?4) "
                    "ON CONFLICT (zone, cluster, name) DO UPDATE SET value = excluded.value",
                    "copying the configuration")
                .bind(1, scope.zone)
                .bind(2, scope.cluster)
                .bind(3, name)
                .bind(4, value)
                .run();
        }
    }
    for (const auto& host : contents.hosts) {
        connection_
            .query(
                "INSERT INTO hosts (id, name, zone, last_seen, created_at, cluster) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                "copying hosts")
            .bind(1, host.id)
            .bind(2, host.name)
            .bind(3, host.zone)
            .bind(4, host.last_seen)
            .bind(5, host.created_at)
            .bind(6, host.cluster)
            .run();
    }
    for (const auto& certificate : contents.certificates) {
        connection_
            .query(
                "INSERT INTO certificates (serial, host_id, host_name, not_after, revoked, revoked_at, kind, "
                "subject, issuer, issued_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                "copying certificates")
            .bind(1, certificate.serial)
            .bind(2, certificate.host_id)
            .bind(3, certificate.host_name)
            .bind(4, certificate.not_after)
            .bind(5, std::int64_t{certificate.revoked ? 1 : 0})
            .bind(6, certificate.revoked_at)
            .bind(7, certificate.kind)
            .bind(8, certificate.subject)
            .bind(9, certificate.issuer)
            .bind(10, certificate.issued_at)
            .run();
    }
    for (const auto& token : contents.tokens) {
        connection_
            .query(
                "INSERT INTO tokens (hash, zone, name, expires_at, created_at, used_at, cluster, host_id) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                "copying join tokens")
            .bind(1, token.spec.hash)
            .bind(2, token.spec.zone)
            .bind(3, token.spec.name)
            .bind(4, token.spec.expires_at)
            .bind(5, token.spec.created_at)
            .bind(6, token.used_at)
            .bind(7, token.spec.cluster)
            .bind(8, token.spec.host_id)
            .run();
    }
    if (contents.ca) {
        put_ca_with_chain(contents.ca->first, contents.ca->second, contents.ca_chain);
    }
    // AUTOINCREMENT's counter: explicit ids above raised it; removed hosts' ids need this.
    connection_
        .query("UPDATE sqlite_sequence SET seq = max(seq, ?1) WHERE name = 'hosts'",
               "copying the last host id")
        .bind(1, contents.last_host_id)
        .run();
    if (connection_.changes() == 0) {
        connection_
            .query("INSERT INTO sqlite_sequence (name, seq) VALUES ('hosts', ?1)", "copying the last host id")
            .bind(1, contents.last_host_id)
            .run();
    }
    // Servers that followed either store see a change, never a step back.
    connection_
        .query("UPDATE generation SET value = max(value, ?1) + 1 WHERE id = 1", "copying the generation")
        .bind(1, contents.generation)
        .run();
    transaction.commit();
    return success();
}

}  // namespace agentlb::store
