// Copying a whole store: export_contents and import_contents.

#include "common/store/postgres_store.hpp"

#include <algorithm>

namespace agentlb::store {

StoreContents PostgresStore::export_contents() {
    return connection_.retrying([&] {
        constexpr std::string_view what = "reading the whole store";
        // One snapshot for every read below.
        PgTransaction transaction(connection_, what, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        StoreContents contents;
        contents.config = list_config();
        contents.scoped_config = scoped_config().overrides;
        contents.hosts = list_hosts();
        for (auto& host : contents.hosts) {
            host.connected_to.reset();
        }
        contents.certificates = list_certificates(CertificateFilter{});
        {
            auto found = connection_.exec(
                "SELECT hash, zone, name, expires_at, created_at, used_at, cluster, host_id FROM tokens "
                "ORDER BY created_at, hash COLLATE \"C\"",
                "reading every join token");
            for (int row = 0; row < found.rows(); ++row) {
                contents.tokens.push_back(TokenRecord{TokenSpec{found.text(row, 0),
                                                                found.optional_text(row, 1),
                                                                found.optional_text(row, 2),
                                                                found.int64(row, 3),
                                                                found.int64(row, 4),
                                                                found.optional_text(row, 6),
                                                                found.optional_int64(row, 7)},
                                                      found.optional_int64(row, 5)});
            }
        }
        contents.ca = ca_certificate();
        contents.ca_chain = ca_chain();
        contents.generation = generation();
        {
            auto found =
                connection_.exec("SELECT last FROM host_ids WHERE id = 1", "reading the last host id");
            if (found.rows() == 1) {
                contents.last_host_id = found.int64(0, 0);
            }
        }
        for (const auto& host : contents.hosts) {
            contents.last_host_id = std::max(contents.last_host_id, host.id);
        }
        transaction.commit();
        return contents;
    });
}

Status PostgresStore::import_contents(const StoreContents& contents) {
    return connection_.retrying([&]() -> Status {
        constexpr std::string_view what = "copying into the store";
        PgTransaction transaction(connection_, what);
        // Servers that followed either store see a change, never a step back.
        bump_generation(what, contents.generation);
        // Every row a copy must not meet, locked against a concurrent write.
        connection_.exec("LOCK TABLE hosts, certificates, tokens, ca IN SHARE ROW EXCLUSIVE MODE", what);
        {
            auto found = connection_.exec(
                "SELECT (SELECT count(*) FROM hosts), (SELECT count(*) FROM certificates), "
                "(SELECT count(*) FROM tokens), (SELECT count(*) FROM ca)",
                "checking that the store is empty");
            if (found.int64(0, 0) + found.int64(0, 1) + found.int64(0, 2) + found.int64(0, 3) != 0) {
                return fail("the store " + connection_.shown() + " is not empty (it holds " +
                            std::to_string(found.int64(0, 0)) + " hosts, " +
                            std::to_string(found.int64(0, 1)) + " certificates, " +
                            std::to_string(found.int64(0, 2)) + " join tokens and " +
                            std::to_string(found.int64(0, 3)) + " CA); copy only into a new store");
            }
        }
        for (const auto& [name, value] : contents.config) {
            connection_.exec(
                "INSERT INTO configuration (scope, name, value) VALUES ('global', $1, $2) "
                "ON CONFLICT (scope, name) DO UPDATE SET value = excluded.value",
                {name, value},
                "copying the configuration");
        }
        for (const auto& [scope, values] : contents.scoped_config) {
            for (const auto& [name, value] : values) {
                connection_.exec(
                    "INSERT INTO scoped_configuration (zone, cluster, name, value) VALUES ($1, $2, $3, $4) "
                    "ON CONFLICT (zone, cluster, name) DO UPDATE SET value = excluded.value",
                    {scope.zone, scope.cluster, name, value},
                    "copying the configuration");
            }
        }
        for (const auto& host : contents.hosts) {
            connection_.exec(
                "INSERT INTO hosts (id, name, zone, last_seen, created_at, cluster) "
                "VALUES ($1, $2, $3, $4, $5, $6)",
                {host.id, host.name, host.zone, host.last_seen, host.created_at, host.cluster},
                "copying hosts");
        }
        for (const auto& certificate : contents.certificates) {
            connection_.exec(
                "INSERT INTO certificates (serial, host_id, host_name, not_after, revoked, revoked_at, kind, "
                "subject, issuer, issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                {certificate.serial,
                 certificate.host_id,
                 certificate.host_name,
                 certificate.not_after,
                 certificate.revoked ? "true" : "false",
                 certificate.revoked_at,
                 certificate.kind,
                 certificate.subject,
                 certificate.issuer,
                 certificate.issued_at},
                "copying certificates");
        }
        for (const auto& token : contents.tokens) {
            connection_.exec(
                "INSERT INTO tokens (hash, zone, name, expires_at, created_at, used_at, cluster, host_id) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                {token.spec.hash,
                 token.spec.zone,
                 token.spec.name,
                 token.spec.expires_at,
                 token.spec.created_at,
                 token.used_at,
                 token.spec.cluster,
                 token.spec.host_id},
                "copying join tokens");
        }
        if (contents.ca) {
            put_ca_with_chain(contents.ca->first, contents.ca->second, contents.ca_chain);
        }
        // New hosts continue after the highest id either store ever gave.
        connection_.exec(
            "UPDATE host_ids SET last = greatest(last, $1::bigint, (SELECT coalesce(max(id), 0) FROM hosts)) "
            "WHERE id = 1",
            {contents.last_host_id},
            "copying the last host id");
        transaction.commit();
        return success();
    });
}

}  // namespace agentlb::store
