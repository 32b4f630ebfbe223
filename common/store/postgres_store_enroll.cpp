// Join tokens and enrollment.

#include "common/store/config_rules.hpp"
#include "common/store/postgres_store.hpp"
#include "common/store/redeem_rules.hpp"
#include "common/util/host_name.hpp"

namespace agentlb::store {

void PostgresStore::create_token(const TokenSpec& token) {
    connection_.exec(
        "INSERT INTO tokens (hash, zone, name, expires_at, created_at, cluster, host_id) VALUES ($1, $2, $3, "
        "$4, $5, $6, $7)",
        {token.hash,
         token.zone,
         token.name,
         token.expires_at,
         token.created_at,
         token.cluster,
         token.host_id},
        "storing a join token");
}

Result<Enrollment> PostgresStore::redeem_token(const RedeemRequest& request, const IssueFn& issue) {
    // The enrollment port checks first; this keeps every other caller honest.
    if (auto valid = util::check_host_name(request.name); !valid) {
        return fail(valid.error());
    }
    // Everything below is one transaction: a refusal or a failed issue
    // returns early and the destructor rolls back. The generation's row lock,
    // taken first, runs enrolments one at a time: a token redeemed on two
    // servers at once gives one host, and names stay unique without regard to case.
    // A retry after a deadlock calls issue again; the first certificate is
    // never recorded nor handed out.
    return connection_.retrying([&]() -> Result<Enrollment> {
        constexpr std::string_view what = "redeeming a join token";
        PgTransaction transaction(connection_, what);
        bump_generation(what);

        std::optional<StoredToken> token;
        {
            auto found = connection_.exec(
                "SELECT zone, name, expires_at, used_at, cluster, host_id FROM tokens WHERE hash = $1",
                {request.token_hash},
                what);
            if (found.rows() == 1) {
                token = StoredToken{found.optional_text(0, 0),
                                    found.optional_text(0, 1),
                                    found.int64(0, 2),
                                    !found.is_null(0, 3),
                                    found.optional_text(0, 4),
                                    found.optional_int64(0, 5)};
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
                connection_.exec("UPDATE hosts SET zone = $2, cluster = $3 WHERE id = $1",
                                 {host.id, host.zone, host.cluster},
                                 "re-enrolling a host");
            }
            revoke_certificates_of(host.id, request.now);
        } else {
            host.name = request.name;
            host.zone = zone->value_or("default");
            host.cluster = token->cluster.value_or("");
            host.created_at = request.now;
            // The counter row is transactional: a rollback gives the id back.
            auto inserted = connection_.exec(
                "WITH next AS (UPDATE host_ids SET last = last + 1 WHERE id = 1 RETURNING last) "
                "INSERT INTO hosts (id, name, zone, last_seen, created_at, cluster) "
                "SELECT last, $1, $2, 0, $3, $4 FROM next RETURNING id",
                {host.name, host.zone, host.created_at, host.cluster},
                "enrolling a host");
            host.id = inserted.int64(0, 0);
        }

        Result<IssuedCertificate> certificate = issue(host);
        if (!certificate) {
            return fail(certificate.error());
        }
        insert_certificate(host.id, host.name, *certificate, false, request.now);
        connection_.exec(
            "UPDATE tokens SET used_at = $2 WHERE hash = $1", {request.token_hash, request.now}, what);
        transaction.commit();
        return Enrollment{std::move(host), std::move(certificate).value(), existing.has_value()};
    });
}

}  // namespace agentlb::store
