#include "agent/server_message.hpp"

#include "agent/connection_policy.hpp"
#include "common/lb/config_keys.hpp"
#include "common/util/text.hpp"

#include <algorithm>

namespace agentlb::agent {

std::string out_of_range(const wire::MsList& list) {
    if (list.interval > lb::kMaxCheckInterval) {
        return "check interval " + std::to_string(list.interval) + " s is out of range (at most " +
               std::to_string(lb::kMaxCheckInterval) + ")";
    }
    return "";
}

std::string out_of_range(const wire::Welcome& welcome) {
    if (welcome.heartbeat_interval > kMaxWelcomeHeartbeat.count()) {
        return "heartbeat interval " + std::to_string(welcome.heartbeat_interval) +
               " s is out of range (at most " + std::to_string(kMaxWelcomeHeartbeat.count()) + ")";
    }
    return welcome.correction ? out_of_range(*welcome.correction) : "";
}

std::chrono::milliseconds heartbeat_from_welcome(const wire::Welcome& welcome,
                                                 std::chrono::milliseconds fallback) {
    if (welcome.heartbeat_interval <= 0) {
        return fallback;
    }
    // Capped in seconds first: converting a huge count to milliseconds overflows.
    return std::min(std::chrono::seconds(welcome.heartbeat_interval), kMaxWelcomeHeartbeat);
}

std::string describe_server_error(const wire::Error& error) {
    return util::peer_text(error.code) + ": " + util::peer_text(error.message);
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

}  // namespace agentlb::agent
