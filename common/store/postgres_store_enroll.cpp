// Join tokens and enrollment.

#include "common/store/postgres_store.hpp"
#include "common/util/host_name.hpp"

namespace agentlb::store {

namespace {

// Names and zones come from peers: the refusal goes back to the agent and into logs.
std::string quoted(std::string_view text) {
    return util::peer_text(text, util::kShownTextBytes, util::Quoted::yes);
}

struct TokenRow {
    std::optional<std::string> zone;
    std::optional<std::string> name;
    std::int64_t expires_at = 0;
    bool used = false;
};

}  // namespace

void PostgresStore::create_token(const TokenSpec& token) {
    connection_.exec(
        "INSERT INTO tokens (hash, zone, name, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)",
        {token.hash, token.zone, token.name, token.expires_at, token.created_at},
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

        std::optional<TokenRow> token;
        {
            auto found =
                connection_.exec("SELECT zone, name, expires_at, used_at FROM tokens WHERE hash = $1",
                                 {request.token_hash},
                                 what);
            if (found.rows() == 1) {
                token = TokenRow{found.optional_text(0, 0),
                                 found.optional_text(0, 1),
                                 found.int64(0, 2),
                                 !found.is_null(0, 3)};
            }
        }
        if (!token) {
            return fail("unknown join token");
        }
        if (token->used) {
            return fail("join token already used");
        }
        if (request.now >= token->expires_at) {
            return fail("join token expired");
        }
        if (token->name && !util::same_host_name(*token->name, request.name)) {
            return fail("join token was created for host " + quoted(*token->name) + ", not for " +
                        quoted(request.name));
        }
        const bool zone_requested = request.zone && !request.zone->empty();
        if (token->zone && zone_requested && *token->zone != *request.zone) {
            return fail("join token is for zone " + quoted(*token->zone) + ", but the agent asked for zone " +
                        quoted(*request.zone));
        }

        std::optional<HostRecord> existing = find_host(request.name);
        if (existing && !token->name) {
            const std::string as = existing->name == request.name
                                       ? ""
                                       : " as " + quoted(existing->name) + " (host names ignore case)";
            return fail("host " + quoted(request.name) + " is already registered" + as +
                        "; enrolling it again needs a token created with --name " + existing->name);
        }

        std::optional<std::string> zone = token->zone;
        if (!zone && zone_requested) {
            zone = request.zone;
        }

        HostRecord host;
        if (existing) {
            // Re-enrolment keeps the id, so the host keeps its place in every list.
            host = *existing;
            if (zone && *zone != host.zone) {
                host.zone = *zone;
                connection_.exec(
                    "UPDATE hosts SET zone = $2 WHERE id = $1", {host.id, host.zone}, "re-enrolling a host");
            }
            revoke_certificates_of(host.id, request.now);
        } else {
            host.name = request.name;
            host.zone = zone.value_or("default");
            host.created_at = request.now;
            // The counter row is transactional: a rollback gives the id back.
            auto inserted = connection_.exec(
                "WITH next AS (UPDATE host_ids SET last = last + 1 WHERE id = 1 RETURNING last) "
                "INSERT INTO hosts (id, name, zone, last_seen, created_at) "
                "SELECT last, $1, $2, 0, $3 FROM next RETURNING id",
                {host.name, host.zone, host.created_at},
                "enrolling a host");
            host.id = inserted.int64(0, 0);
        }

        Result<IssuedCertificate> certificate = issue(host);
        if (!certificate) {
            return fail(certificate.error());
        }
        insert_certificate(host.id, host.name, *certificate, false);
        connection_.exec(
            "UPDATE tokens SET used_at = $2 WHERE hash = $1", {request.token_hash, request.now}, what);
        transaction.commit();
        return Enrollment{std::move(host), std::move(certificate).value(), existing.has_value()};
    });
}

}  // namespace agentlb::store
