// Join tokens and enrollment.

#include "common/store/sqlite_store.hpp"
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

void SqliteStore::create_token(const TokenSpec& token) {
    connection_
        .query("INSERT INTO tokens (hash, zone, name, expires_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
               "storing a join token")
        .bind(1, token.hash)
        .bind(2, token.zone)
        .bind(3, token.name)
        .bind(4, token.expires_at)
        .bind(5, token.created_at)
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

    std::optional<TokenRow> token;
    {
        auto query = connection_.query("SELECT zone, name, expires_at, used_at FROM tokens WHERE hash = ?1",
                                       "redeeming a join token");
        query.bind(1, request.token_hash);
        if (query.step()) {
            token = TokenRow{query.optional_text(0),
                             query.optional_text(1),
                             query.int64(2),
                             query.optional_text(3).has_value()};
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
            connection_.query("UPDATE hosts SET zone = ?2 WHERE id = ?1", "re-enrolling a host")
                .bind(1, host.id)
                .bind(2, host.zone)
                .run();
        }
        revoke_certificates_of(host.id, request.now);
    } else {
        host.name = request.name;
        host.zone = zone.value_or("default");
        host.created_at = request.now;
        connection_
            .query("INSERT INTO hosts (name, zone, last_seen, created_at) VALUES (?1, ?2, 0, ?3)",
                   "enrolling a host")
            .bind(1, host.name)
            .bind(2, host.zone)
            .bind(3, host.created_at)
            .run();
        host.id = connection_.last_insert_rowid();
    }

    Result<IssuedCertificate> certificate = issue(host);
    if (!certificate) {
        return fail(certificate.error());
    }
    insert_certificate(host.id, host.name, *certificate, false);
    connection_.query("UPDATE tokens SET used_at = ?2 WHERE hash = ?1", "redeeming a join token")
        .bind(1, request.token_hash)
        .bind(2, request.now)
        .run();
    bump_generation();
    transaction.commit();
    return Enrollment{std::move(host), std::move(certificate).value(), existing.has_value()};
}

}  // namespace agentlb::store
