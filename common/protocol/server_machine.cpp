#include "common/protocol/server_machine.hpp"

#include "common/tls/timeouts.hpp"
#include "common/util/text.hpp"

#include <algorithm>

namespace agentlb::protocol {

namespace {

// Peer text in a log detail: escaped and cut, so it can neither forge nor flood a line.
std::string shown(std::string_view text) {
    return util::peer_text(text, 128);
}

std::string seconds_text(Clock::duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

}  // namespace

ServerMachine::ServerMachine(const ServerSettings& settings, TimePoint now)
    : settings_(&settings), phase_deadline_(now + settings.handshake_timeout) {}

bool ServerMachine::welcomed() const noexcept {
    return state_ == State::established || state_ == State::renewing;
}

bool ServerMachine::wants_input() const noexcept {
    return state_ == State::awaiting_hello || state_ == State::established;
}

Clock::duration ServerMachine::idle_limit() const noexcept {
    // Bounded, so that no interval a peer or a test names overflows a deadline.
    constexpr std::chrono::seconds kLongest{std::chrono::hours(24 * 365 * 10)};
    const auto interval = std::min(settings_->heartbeat_interval, kLongest);
    return interval * tls::kMissedHeartbeatsBeforeDead;
}

TimePoint ServerMachine::deadline() const noexcept {
    if (state_ == State::closed) {
        return TimePoint::max();
    }
    auto at = phase_deadline_;
    if (welcomed()) {
        at = std::min(at, last_frame_ + idle_limit());
    }
    if (write_blocked_) {
        at = std::min(at, write_blocked_since_ + idle_limit());
    }
    if (welcomed() && !pending_.empty()) {
        at = std::min(at, pending_.front().second + idle_limit());
    }
    return at;
}

Actions ServerMachine::on_timer(TimePoint now) {
    Actions out;
    if (state_ == State::closed) {
        return out;
    }
    if (write_blocked_ && now >= write_blocked_since_ + idle_limit()) {
        close(CloseReason::write_blocked, "a write was blocked for " + seconds_text(idle_limit()), now, out);
        return out;
    }
    // Once closing, the driver has stopped counting this session's pushes.
    if (welcomed() && !pending_.empty() && now >= pending_.front().second + idle_limit()) {
        give_up(0, now - idle_limit(), "no ack within " + seconds_text(idle_limit()), out);
    }
    const bool silent = welcomed() && now >= last_frame_ + idle_limit();
    if (now < phase_deadline_ && !silent) {
        return out;
    }
    switch (state_) {
        case State::awaiting_handshake:
            close(CloseReason::timeout,
                  "no TLS handshake within " + seconds_text(settings_->handshake_timeout),
                  now,
                  out);
            break;
        case State::awaiting_hello:
            close(CloseReason::no_hello, "no hello in time", now, out);
            break;
        case State::looking_up:
        case State::recording:
            close(CloseReason::store_error,
                  "the store did not answer within " + seconds_text(settings_->handshake_timeout),
                  now,
                  out);
            break;
        case State::established:
        case State::renewing:
            close(CloseReason::silence, "missed heartbeats, no frame in time", now, out);
            break;
        case State::closing:
            // The refusal could not be written in time: close without it.
            close(close_reason_, {}, now, out);
            break;
        case State::closed:
            break;
    }
    return out;
}

Actions ServerMachine::on_handshake_done(PeerCertificate certificate, TimePoint now) {
    Actions out;
    if (state_ != State::awaiting_handshake) {
        return out;
    }
    serial_ = certificate.serial;
    handshake_ = std::make_unique<Handshake>();
    handshake_->certificate = std::move(certificate);
    state_ = State::awaiting_hello;
    // The same limit again, now for hello.
    phase_deadline_ = now + settings_->handshake_timeout;
    return out;
}

Actions ServerMachine::on_bytes(const void* data, std::size_t size, TimePoint now) {
    Actions out;
    if (state_ == State::closing || state_ == State::closed) {
        return out;
    }
    intake_.feed(data, size);
    take_messages(now, out);
    return out;
}

Actions ServerMachine::on_message(const wire::Message& message, TimePoint now) {
    Actions out;
    if (wants_input()) {
        last_frame_ = now;
        handle(message, now, out);
    }
    return out;
}

void ServerMachine::take_messages(TimePoint now, Actions& out) {
    while (wants_input()) {
        auto next = intake_.next();
        if (std::holds_alternative<NeedMore>(next)) {
            return;
        }
        if (auto* bad = std::get_if<BadInput>(&next)) {
            close(state_ == State::awaiting_hello ? CloseReason::no_hello : CloseReason::bad_input,
                  std::move(bad->detail),
                  now,
                  out);
            return;
        }
        last_frame_ = now;
        handle(std::get<wire::Message>(next), now, out);
    }
}

void ServerMachine::handle(const wire::Message& message, TimePoint now, Actions& out) {
    if (state_ == State::awaiting_hello) {
        if (const auto* hello = std::get_if<wire::Hello>(&message)) {
            accept_hello(*hello, now, out);
            return;
        }
        refuse(wire::ErrorCode::protocol,
               "the first message must be hello",
               CloseReason::no_hello,
               "first message was '" + std::string(wire::message_type(message)) + "'",
               now,
               out);
        return;
    }
    if (const auto* ping = std::get_if<wire::Ping>(&message)) {
        if (ping->rtt_us) {
            rtt_us_ = ping->rtt_us;
        }
        send(wire::Pong{ping->seq}, out);
        return;
    }
    if (const auto* ack = std::get_if<wire::Ack>(&message)) {
        on_ack(ack->seq, now, out);
        return;
    }
    if (const auto* app = std::get_if<wire::App>(&message)) {
        if (!takes_app_) {
            close(
                CloseReason::unexpected_message, "app message, but hello announced no app socket", now, out);
            return;
        }
        if (app->kind == "undeliverable") {
            close(CloseReason::unexpected_message,
                  "app message of kind 'undeliverable' from an agent",
                  now,
                  out);
            return;
        }
        out.push_back(AppFromHost{*app});
        return;
    }
    if (const auto* renew = std::get_if<wire::Renew>(&message)) {
        state_ = State::renewing;
        out.push_back(IssueCertificate{renew->csr});
        return;
    }
    close(CloseReason::unexpected_message,
          "unexpected message '" + std::string(wire::message_type(message)) + "'",
          now,
          out);
}

void ServerMachine::accept_hello(const wire::Hello& hello, TimePoint now, Actions& out) {
    const PeerCertificate* certificate = handshake_ ? &handshake_->certificate : nullptr;
    if (certificate == nullptr || !certificate->present) {
        refuse(wire::ErrorCode::no_certificate,
               "a client certificate is required",
               CloseReason::no_certificate,
               "no client certificate after the handshake",
               now,
               out);
        return;
    }
    if (certificate->common_name != hello.name) {
        refuse(wire::ErrorCode::identity_mismatch,
               "hello names a host other than the certificate's",
               CloseReason::identity_mismatch,
               "certificate is for '" + shown(certificate->common_name) + "', hello names '" +
                   shown(hello.name) + "'",
               now,
               out);
        return;
    }
    name_ = certificate->common_name;
    trusts_ = hello.trusts;
    takes_app_ = hello.app;
    // Resumed sessions skipped the handshake's certificate checks.
    if (certificate->check == CertificateCheck::revoked) {
        refuse(wire::ErrorCode::revoked,
               certificate->problem,
               CloseReason::revoked,
               certificate->problem,
               now,
               out);
        return;
    }
    if (certificate->check == CertificateCheck::bad) {
        refuse(wire::ErrorCode::bad_certificate,
               certificate->problem,
               CloseReason::bad_certificate,
               certificate->problem,
               now,
               out);
        return;
    }
    handshake_->certificate = {};
    held_ = lb::held_from_hello(hello.list, hello.interval);
    state_ = State::looking_up;
    out.push_back(LookupHost{name_, serial_, hello.zone});
}

Actions ServerMachine::on_lookup(HostLookup lookup, SeqCounter& seqs, TimePoint now) {
    Actions out;
    if (state_ != State::looking_up) {
        return out;
    }
    if (!lookup.found) {
        refuse(wire::ErrorCode::unknown_host,
               "host " + name_ + " is not registered",
               CloseReason::unknown_host,
               "no host of that name is registered",
               now,
               out);
        return out;
    }
    if (lookup.revoked) {
        const std::string text = "certificate serial " + serial_ + " is revoked";
        refuse(wire::ErrorCode::revoked, text, CloseReason::revoked, text, now, out);
        return out;
    }
    host_id_ = lookup.host_id;
    zone_ = std::move(lookup.zone);
    hello_generation_ = lookup.generation;
    // Welcome waits until the connection is recorded. Its correction is
    // not a push: its ack is not awaited.
    auto& welcome = handshake_->welcome;
    welcome.host_id = host_id_;
    welcome.server = settings_->server_name;
    welcome.heartbeat_interval = settings_->heartbeat_interval.count();
    if (lb::needs_update(held_, lookup.assignment, *lookup.algorithm)) {
        auto correction = lb::assignment_to_send(held_, lookup.assignment, *lookup.algorithm);
        welcome.correction = wire::MsList{
            seqs.next(), correction.list, correction.algorithm, correction.interval, correction.avoid};
        held_ = std::move(correction);
    }
    welcome.renewal = lookup.renewal;
    renewal_ = std::move(lookup.renewal);
    state_ = State::recording;
    out.push_back(RecordConnection{host_id_});
    return out;
}

Actions ServerMachine::on_recorded(TimePoint now) {
    Actions out;
    if (state_ != State::recording) {
        return out;
    }
    auto handshake = std::move(handshake_);
    const bool corrected = handshake->welcome.correction.has_value();
    state_ = State::established;
    phase_deadline_ = TimePoint::max();
    last_frame_ = now;
    send(std::move(handshake->welcome), out);
    out.push_back(Welcomed{corrected});
    // Frames that came behind hello.
    take_messages(now, out);
    return out;
}

Actions ServerMachine::on_issued(Issued issued, TimePoint now) {
    Actions out;
    if (state_ != State::renewing) {
        return out;
    }
    state_ = State::established;
    switch (issued.outcome) {
        case Issued::Outcome::issued:
            send(
                wire::Certificate{
                    std::move(issued.certificate), std::move(issued.ca), std::move(issued.chain)},
                out);
            break;
        case Issued::Outcome::refused:
            send(wire::make_error(wire::ErrorCode::renew_refused, std::move(issued.reason)), out);
            break;
        case Issued::Outcome::failed:
            send(wire::make_error(wire::ErrorCode::unavailable,
                                  "the certificate could not be renewed; try again later"),
                 out);
            break;
    }
    take_messages(now, out);
    return out;
}

Actions ServerMachine::on_assignment(const AssignmentUpdate& update, SeqCounter& seqs, TimePoint now) {
    Actions out;
    if (!welcomed() || update.generation < hello_generation_) {
        return out;
    }
    if (!update.host_present) {
        refuse(wire::ErrorCode::revoked,
               "host " + name_ + " was removed",
               CloseReason::revoked,
               "host removed, closing its session",
               now,
               out);
        return out;
    }
    if (update.serial_revoked) {
        refuse(wire::ErrorCode::revoked,
               "certificate serial " + serial_ + " is revoked",
               CloseReason::revoked,
               "certificate serial " + serial_ + " revoked, closing its session",
               now,
               out);
        return out;
    }
    const bool list_changed = lb::needs_update(held_, update.next, *update.algorithm);
    const bool renewal_changed = update.renewal && update.renewal != renewal_;
    if (!list_changed && !renewal_changed) {
        return out;
    }
    auto next = list_changed ? lb::assignment_to_send(held_, update.next, *update.algorithm) : held_;
    if (renewal_changed) {
        renewal_ = update.renewal;
    }
    const auto seq = seqs.next();
    if (pending_.size() >= kMaxPendingAcks) {
        give_up(pending_.front().first + 1, TimePoint::min(), "too many unacknowledged lists", out);
    }
    pending_.emplace_back(seq, now);
    held_ = std::move(next);
    out.push_back(Pushed{seq});
    send(wire::MsList{seq, held_.list, held_.algorithm, held_.interval, held_.avoid, renewal_}, out);
    return out;
}

void ServerMachine::on_ack(std::int64_t seq, TimePoint now, Actions& out) {
    // Not found: welcome's correction (not counted), or a push given up already.
    const auto it =
        std::find_if(pending_.begin(), pending_.end(), [seq](const Pending& p) { return p.first == seq; });
    if (it != pending_.end()) {
        const PushAcked acked{seq, now - it->second};
        out.emplace_back(acked);
        pending_.erase(it);
    }
    // The agent stores lists in the order they came and acks each one it
    // stored: an earlier push still waiting was not stored, and never will be.
    give_up(seq, TimePoint::min(), "a later list was acknowledged", out);
}

void ServerMachine::give_up(std::int64_t below_seq,
                            TimePoint sent_before,
                            std::string_view why,
                            Actions& out) {
    const auto before = pending_.size();
    pending_.erase(std::remove_if(pending_.begin(),
                                  pending_.end(),
                                  [&](const Pending& p) {
                                      if (p.first >= below_seq && p.second > sent_before) {
                                          return false;
                                      }
                                      out.push_back(PushGivenUp{p.first, std::string(why)});
                                      return true;
                                  }),
                   pending_.end());
    if (pending_.empty() && before != 0) {
        pending_ = {};  // an idle session holds no buffer
    }
}

Actions ServerMachine::on_flushed(std::size_t queued, bool blocked, TimePoint now) {
    Actions out;
    if (state_ == State::closed) {
        return out;
    }
    if (blocked) {
        if (!write_blocked_) {
            write_blocked_ = true;
            write_blocked_since_ = now;
        }
    } else {
        write_blocked_ = false;
    }
    if (state_ == State::closing) {
        if (queued == 0) {
            state_ = State::closed;  // the refusal is out; the driver closes
        }
        return out;
    }
    if (queued > kMaxQueuedFrames) {
        close(CloseReason::slow_reader,
              std::to_string(queued - 1) + " frames waiting, the agent does not read",
              now,
              out);
    }
    return out;
}

Actions ServerMachine::on_migrate(std::string reason,
                                  std::vector<std::string> avoid,
                                  TimePoint /*now*/,
                                  std::vector<std::string> to) {
    Actions out;
    if (welcomed()) {
        send(wire::Migrate{std::move(reason), std::move(avoid), std::move(to)}, out);
    }
    return out;
}

Actions ServerMachine::send_app(wire::App app) {
    Actions out;
    if (takes_app_ && (state_ == State::established || state_ == State::renewing)) {
        send(std::move(app), out);
    }
    return out;
}

void ServerMachine::send(wire::Message message, Actions& out) {
    out.push_back(Send{std::move(message)});
}

}  // namespace agentlb::protocol
