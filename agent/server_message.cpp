#include "agent/server_message.hpp"

#include "agent/connection_policy.hpp"
#include "agent/printable.hpp"
#include "certs/inspect.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "certs/verify.hpp"

#include <algorithm>

namespace agentlb::agent {

std::chrono::milliseconds heartbeat_from_welcome(const wire::Welcome& welcome,
                                                 std::chrono::milliseconds fallback) {
    if (welcome.heartbeat_interval <= 0) {
        return fallback;
    }
    // Capped in seconds first: converting a huge count to milliseconds overflows.
    return std::min(std::chrono::seconds(welcome.heartbeat_interval), kMaxWelcomeHeartbeat);
}

std::string describe_server_error(const wire::Error& error) {
    return printable(error.code) + ": " + printable(error.message);
}

ServerMessageAction classify_server_message(const wire::Message& message) {
    if (std::holds_alternative<wire::Pong>(message)) {
        return ServerMessageAction::note_pong;
    }
    if (std::holds_alternative<wire::Ping>(message)) {
        return ServerMessageAction::answer_ping;
    }
    if (std::holds_alternative<wire::MsList>(message)) {
        return ServerMessageAction::apply_list;
    }
    if (std::holds_alternative<wire::Migrate>(message)) {
        return ServerMessageAction::migrate;
    }
    if (std::holds_alternative<wire::Certificate>(message)) {
        return ServerMessageAction::check_certificate;
    }
    if (std::holds_alternative<wire::Error>(message)) {
        return ServerMessageAction::log_error;
    }
    if (std::holds_alternative<wire::Welcome>(message)) {
        return ServerMessageAction::ignore;
    }
    return ServerMessageAction::abort;
}

std::int64_t answered_pings(std::int64_t last_pong, std::int64_t pings_sent, const wire::Pong& pong) {
    return std::max(last_pong, std::min(pong.seq, pings_sent));
}

std::vector<std::string> avoid_after_migrate(const wire::Migrate& migrate, std::string_view entry) {
    auto avoid = migrate.avoid;
    if (std::none_of(
            avoid.begin(), avoid.end(), [&](const std::string& a) { return same_server(a, entry); })) {
        avoid.emplace_back(entry);
    }
    return avoid;
}

Result<Credentials> accept_renewed_certificate(const wire::Certificate& message,
                                               const std::string& pending_key_pem,
                                               const std::string& current_ca_pem,
                                               std::string_view identity,
                                               std::time_t now) {
    const std::string ca_pem = message.ca.empty() ? current_ca_pem : message.ca;
    auto cert = certs::parse_certificate_pem(message.certificate);
    auto key = certs::parse_private_key_pem(pending_key_pem);
    if (!cert || !key || !certs::key_matches_certificate(key->get(), cert->get())) {
        return fail("that is not for our new key: ignored");
    }
    if (auto verified = certs::verify_certificate(cert->get(), ca_pem, now); !verified) {
        return fail("that does not verify: " + verified.error());
    }
    if (certs::common_name_of(cert->get()) != identity) {
        return fail("for another name: ignored");
    }
    return Credentials{pending_key_pem, message.certificate, ca_pem, std::move(*cert)};
}

}  // namespace agentlb::agent
