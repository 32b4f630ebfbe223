#include "common/protocol/agent_machine.hpp"

#include "common/lb/config_keys.hpp"
#include "common/protocol/connection_policy.hpp"
#include "common/util/duration_text.hpp"
#include "common/util/text.hpp"

#include <algorithm>

namespace agentlb::protocol {

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

std::int64_t answered_pings(std::int64_t last_pong, std::int64_t pings_sent, const wire::Pong& pong) {
    return std::max(last_pong, std::min(pong.seq, pings_sent));
}

std::vector<std::string> avoid_after_migrate(const wire::Migrate& migrate, std::string_view entry) {
    auto avoid = migrate.avoid;
    // A move towards named servers (a rebalance) does not say the sender is
    // going away: the agent may stay on it.
    if (migrate.to.empty() && std::none_of(avoid.begin(), avoid.end(), [&](const std::string& a) {
            return same_server(a, entry);
        })) {
        avoid.emplace_back(entry);
    }
    return avoid;
}

std::string describe_server_error(const wire::Error& error) {
    const bool known = wire::error_code_from_text(error.code).has_value();
    return util::peer_text(error.code) + (known ? "" : " (a code this agent does not know)") + ": " +
           util::peer_text(error.message);
}

AgentMachine::AgentMachine(Settings settings) : settings_(std::move(settings)) {}

// All transitions to closed go through here: the state, the timers and the
// pending pushes are dropped together.
void AgentMachine::finish(CloseReason reason, std::string detail, bool flush_first, Actions& out) {
    state_ = State::closed;
    welcome_deadline_ = TimePoint::max();
    next_ping_ = TimePoint::max();
    std::vector<PendingPush>().swap(pushes_);
    out.emplace_back(Close{reason, std::move(detail), flush_first});
}

AgentMachine::Actions AgentMachine::start(wire::Hello hello, TimePoint now) {
    Actions out;
    if (state_ != State::idle) {
        return out;
    }
    state_ = State::awaiting_welcome;
    welcome_deadline_ = now + settings_.welcome_timeout;
    takes_app_ = hello.app;
    out.emplace_back(Send{std::move(hello)});
    return out;
}

TimePoint AgentMachine::deadline() const {
    switch (state_) {
        case State::awaiting_welcome:
            return welcome_deadline_;
        case State::established:
            return next_ping_;
        case State::idle:
        case State::closed:
            break;
    }
    return TimePoint::max();
}

AgentMachine::Actions AgentMachine::on_bytes(const void* data, std::size_t size, TimePoint now) {
    Actions out;
    if (state_ == State::closed) {
        return out;
    }
    intake_.feed(data, size);
    while (state_ != State::closed) {
        auto next = intake_.next();
        if (std::holds_alternative<NeedMore>(next)) {
            break;
        }
        if (auto* bad = std::get_if<BadInput>(&next)) {
            const std::string where =
                state_ == State::established ? "protocol error: " : "protocol error before welcome: ";
            finish(CloseReason::protocol_error, where + bad->detail, false, out);
            break;
        }
        auto more = on_message(std::get<wire::Message>(next), now);
        out.insert(out.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
    }
    return out;
}

AgentMachine::Actions AgentMachine::on_message(const wire::Message& message, TimePoint now) {
    Actions out;
    switch (state_) {
        case State::idle:
        case State::closed:
            break;
        case State::awaiting_welcome:
            if (const auto* welcome = std::get_if<wire::Welcome>(&message)) {
                on_welcome(*welcome, now, out);
            } else if (const auto* error = std::get_if<wire::Error>(&message)) {
                std::string detail = describe_server_error(*error);
                out.emplace_back(Refused{wire::error_code_from_text(error->code), detail});
                finish(CloseReason::refused, "refused by the server: " + detail, false, out);
            } else {
                finish(CloseReason::protocol_error,
                       "expected welcome, got " + std::string(wire::message_type(message)),
                       false,
                       out);
            }
            break;
        case State::established:
            on_established_message(message, now, out);
            break;
    }
    return out;
}

void AgentMachine::on_welcome(const wire::Welcome& welcome, TimePoint now, Actions& out) {
    if (auto bad = out_of_range(welcome); !bad.empty()) {
        // Nothing of it is used: the list the agent holds stays.
        finish(CloseReason::protocol_error, "protocol error in welcome: " + bad, false, out);
        return;
    }
    state_ = State::established;
    welcome_deadline_ = TimePoint::max();
    heartbeat_ = heartbeat_from_welcome(welcome, settings_.heartbeat_fallback);
    const double phase = std::clamp(settings_.first_ping_phase, 0.0, 1.0);
    next_ping_ = now + std::chrono::duration_cast<std::chrono::milliseconds>(heartbeat_ * phase);
    out.emplace_back(Welcomed{welcome, heartbeat_});
    if (welcome.correction) {
        persist(*welcome.correction, true, out);
    }
}

void AgentMachine::persist(const wire::MsList& list, bool correction, Actions& out) {
    pushes_.push_back(PendingPush{list.seq, PushState::storing});
    out.emplace_back(Persist{list, correction});
}

void AgentMachine::on_established_message(const wire::Message& message, TimePoint now, Actions& out) {
    if (const auto* pong = std::get_if<wire::Pong>(&message)) {
        const bool newest = pong->seq == pings_sent_ && last_pong_ < pings_sent_;
        last_pong_ = answered_pings(last_pong_, pings_sent_, *pong);
        if (newest) {
            last_rtt_ = std::chrono::duration_cast<std::chrono::microseconds>(now - last_ping_at_);
        }
    } else if (const auto* ping = std::get_if<wire::Ping>(&message)) {
        out.emplace_back(Send{wire::Pong{ping->seq}});
    } else if (const auto* list = std::get_if<wire::MsList>(&message)) {
        if (auto bad = out_of_range(*list); !bad.empty()) {
            finish(CloseReason::protocol_error,
                   "protocol error: ms_list (seq " + std::to_string(list->seq) + "): " + bad,
                   false,
                   out);
            return;
        }
        persist(*list, false, out);
    } else if (const auto* migrate = std::get_if<wire::Migrate>(&message)) {
        out.emplace_back(Migrate{
            util::peer_text(migrate->reason), avoid_after_migrate(*migrate, settings_.entry), migrate->to});
    } else if (const auto* certificate = std::get_if<wire::Certificate>(&message)) {
        out.emplace_back(CertificateReceived{*certificate});
    } else if (const auto* trust = std::get_if<wire::Trust>(&message)) {
        out.emplace_back(TrustReceived{*trust});
    } else if (std::holds_alternative<wire::Reissue>(message)) {
        out.emplace_back(ReissueRequested{});
    } else if (const auto* error = std::get_if<wire::Error>(&message)) {
        out.emplace_back(ServerError{wire::error_code_from_text(error->code), describe_server_error(*error)});
    } else if (std::holds_alternative<wire::Welcome>(message)) {
        out.emplace_back(Ignored{"a second welcome"});
    } else if (const auto* app = std::get_if<wire::App>(&message); app != nullptr && takes_app_) {
        out.emplace_back(AppReceived{*app});
    } else {
        // A message only an agent sends: the server is broken.
        finish(CloseReason::protocol_error,
               "unexpected " + std::string(wire::message_type(message)) + " from the server",
               false,
               out);
    }
}

AgentMachine::Actions AgentMachine::on_persisted(std::int64_t seq, bool ok, TimePoint /*now*/) {
    Actions out;
    if (state_ != State::established) {
        return out;
    }
    auto it = std::find_if(pushes_.begin(), pushes_.end(), [&](const PendingPush& p) {
        return p.seq == seq && p.state == PushState::storing;
    });
    if (it == pushes_.end()) {
        return out;  // not a list this session handed out
    }
    it->state = ok ? PushState::stored : PushState::failed;
    // Acks leave in the order the lists came: a list stored early waits for
    // the ones before it.
    auto done = pushes_.begin();
    for (; done != pushes_.end() && done->state != PushState::storing; ++done) {
        if (done->state == PushState::stored) {
            out.emplace_back(Send{wire::Ack{done->seq}});
        }
    }
    pushes_.erase(pushes_.begin(), done);
    if (pushes_.empty()) {
        std::vector<PendingPush>().swap(pushes_);
    }
    return out;
}

AgentMachine::Actions AgentMachine::on_timer(TimePoint now) {
    Actions out;
    if (state_ == State::awaiting_welcome && now >= welcome_deadline_) {
        finish(CloseReason::welcome_timeout,
               "no welcome within " + util::milliseconds_text(settings_.welcome_timeout),
               false,
               out);
    } else if (state_ == State::established && now >= next_ping_) {
        if (pings_sent_ - last_pong_ >= tls::kMissedHeartbeatsBeforeDead) {
            finish(CloseReason::heartbeat_missed,
                   "no pong for " + std::to_string(tls::kMissedHeartbeatsBeforeDead) + " heartbeats",
                   false,
                   out);
            return out;
        }
        std::optional<std::int64_t> rtt_us;
        if (last_rtt_) {
            rtt_us = last_rtt_->count();
        }
        out.emplace_back(Send{wire::Ping{++pings_sent_, rtt_us}});
        last_ping_at_ = now;
        next_ping_ = now + heartbeat_;
    }
    return out;
}

AgentMachine::Actions AgentMachine::close(std::string detail, bool flush_first) {
    Actions out;
    if (state_ != State::closed) {
        finish(CloseReason::local, std::move(detail), flush_first, out);
    }
    return out;
}

AgentMachine::Actions AgentMachine::renew(std::string csr) {
    Actions out;
    if (state_ == State::established) {
        out.emplace_back(Send{wire::Renew{std::move(csr)}});
    }
    return out;
}

AgentMachine::Actions AgentMachine::send_app(wire::App app) {
    Actions out;
    if (state_ == State::established && takes_app_) {
        out.emplace_back(Send{std::move(app)});
    }
    return out;
}

}  // namespace agentlb::protocol
