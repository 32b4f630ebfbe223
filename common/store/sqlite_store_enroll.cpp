// Join tokens and enrollment.

#include "common/store/config_rules.hpp"
#include "common/store/redeem_rules.hpp"
#include "common/store/sqlite_store.hpp"
#include "common/util/host_name.hpp"

namespace agentlb::store {

void SqliteStore::create_token(const TokenSpec& token) {
    connection_
        .query(
            "INSERT INTO tokens (hash, zone, name, expires_at, created_at, cluster, host_id) VALUES (?1, ?2, "
            "?3, ?4, ?5, ?6, ?7)",
            "storing a join token")
        .bind(1, token.hash)
        .bind(2, token.zone)
        .bind(3, token.name)
        .bind(4, token.expires_at)
        .bind(5, token.created_at)
        .bind(6, token.cluster)
        .bind(7, token.host_id)
        .run();
}

Result<Enrollment> SqliteStore::redeem_token(const RedeemRequest& request, const IssueFn& issue) {
    // The enrollment port checks first; this keeps every other caller honest.
    if (auto valid = util::check_host_name(request.name); !valid) {
        return fail(valid.error());
    }
    // Everything below is one transaction: a refusal or a failed issue
    // returns early and the destructor rolls back.
    WriteTransaction transaction(connection_, "redeeming a join token");

    std::optional<StoredToken> token;
    {
        auto query = connection_.query(
            "SELECT zone, name, expires_at, used_at, cluster, host_id FROM tokens WHERE hash = ?1",
            "redeeming a join token");
        query.bind(1, request.token_hash);
        if (query.step()) {
            token = StoredToken{query.optional_text(0),
                                query.optional_text(1),
                                query.int64(2),
                                query.optional_text(3).has_value(),
                                query.optional_text(4),
                                query.optional_int64(5)};
        }
    }
    std::optional<HostRecord> existing = token ? find_host(request.name) : std::nullopt;
    auto zone = check_redeem(token, request, existing);
    if (!zone) {
        return fail(zone.error());
    }

    HostRecord host;
    if (existing) {
        // Re-enrolment keeps the id, so the host keeps its place in every list.
        host = *existing;
        const std::string new_zone = zone->value_or(host.zone);
        const std::string new_cluster =
            cluster_after_redeem(token->cluster, host.zone, host.cluster, new_zone);
        if (new_zone != host.zone || new_cluster != host.cluster) {
            host.zone = new_zone;
            host.cluster = new_cluster;
            connection_.query("UPDATE hosts SET zone = ?2, cluster = ?3 WHERE id = ?1", "re-enrolling a host")
                .bind(1, host.id)
                .bind(2, host.zone)
                .bind(3, host.cluster)
                .run();
        }
        revoke_certificates_of(host.id, request.now);
    } else {
        host.name = request.name;
        host.zone = zone->value_or("default");
        host.cluster = token->cluster.value_or("");
        host.created_at = request.now;
        connection_
            .query(
                "INSERT INTO hosts (name, zone, last_seen, created_at, cluster) VALUES (?1, ?2, 0, ?3, ?4)",
                "enrolling a host")
            .bind(1, host.name)
            .bind(2, host.zone)
            .bind(3, host.created_at)
            .bind(4, host.cluster)
            .run();
        host.id = connection_.last_insert_rowid();
    }

    Result<IssuedCertificate> certificate = issue(host);
    if (!certificate) {
        return fail(certificate.error());
    }
    insert_certificate(host.id, host.name, *certificate, false, request.now);
    connection_.query("UPDATE tokens SET used_at = ?2 WHERE hash = ?1", "redeeming a join token")
        .bind(1, request.token_hash)
        .bind(2, request.now)
        .run();
    bump_generation();
    transaction.commit();
    return Enrollment{std::move(host), std::move(certificate).value(), existing.has_value()};
}

}  // namespace agentlb::store
