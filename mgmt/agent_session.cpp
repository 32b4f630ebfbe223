#include "mgmt/agent_session.hpp"

#include "certs/inspect.hpp"
#include "certs/verify.hpp"
#include "common/util/clock.hpp"
#include "common/util/exception_text.hpp"
#include "common/util/text.hpp"
#include "mgmt/handshake_refusal.hpp"
#include "mgmt/hello_decision.hpp"
#include "mgmt/peer_address.hpp"
#include "mgmt/shared_state.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

namespace agentlb::mgmt {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

void log_exception(std::exception_ptr e, const char* what) {
    if (auto text = util::exception_text(e)) {
        spdlog::error("{}: {}", what, *text);
    }
}

// Whether an error ends a session quietly (the peer left, or we closed it).
bool is_routine_close(const error_code& ec) {
    return ec == asio::error::eof || ec == asio::error::operation_aborted ||
           ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
}

}  // namespace

AgentSession::AgentSession(asio::ip::tcp::socket socket, std::shared_ptr<SharedState> state)
    : state_(std::move(state)),
      peer_(peer_address(socket)),
      stream_(std::move(socket), state_->agent_context.get(), tls::Role::server),
      watchdog_(stream_.get_executor()) {}

AgentSession::~AgentSession() = default;

void AgentSession::start() {
    auto self = shared_from_this();
    asio::co_spawn(
        stream_.get_executor(),
        [self] { return self->run(); },
        [](std::exception_ptr e) { log_exception(e, "agent session"); });
}

void AgentSession::stop() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->close_now(); });
}

void AgentSession::close_superseded(std::string by) {
    asio::post(stream_.get_executor(), [self = shared_from_this(), by = std::move(by)] {
        if (self->stopped_ || self->close_after_flush_ || !self->welcome_sent_) {
            return;
        }
        spdlog::warn(
            "{}: superseded: a newer session of this host is connected to server {} "
            "(a second machine with this host's key?); closing this one",
            self->who(),
            util::peer_text(by));
        self->refuse("superseded",
                     "a newer session of host " + self->name_ + " is connected to server " + by +
                         "; this one is closed");
    });
}

AgentStatus AgentSession::status() const {
    std::lock_guard lock(status_mutex_);
    AgentStatus status;
    status.address = peer_;
    if (welcome_sent_) {
        status.host_id = host_id_;
        status.name = name_;
        status.zone = zone_;
        status.held = held_;
        status.connected_since = connected_since_;
        status.welcomed = true;
    }
    return status;
}

std::string AgentSession::who() const {
    if (name_.empty()) {
        return "connection from " + peer_;
    }
    return "agent " + name_ + " (" + peer_ + ")";
}

AgentSession::Clock::duration AgentSession::idle_limit() const {
    return state_->options.heartbeat_interval * kMissedHeartbeatsBeforeDead;
}

asio::awaitable<void> AgentSession::run() {
    phase_deadline_ = Clock::now() + state_->options.handshake_timeout;
    arm_watchdog();
    if (co_await handshake()) {
        auto first = co_await read_message();
        if (!first.message) {
            const auto reason = first.routine ? std::string("closed") : std::string("no_hello");
            spdlog::warn("refused {}: {}: {}", who(), reason, first.reason);
            state_->metrics.count_handshake(reason);
        } else if (const auto* hello = std::get_if<wire::Hello>(&*first.message)) {
            if (co_await accept_hello(*hello)) {
                // From here on no coroutine waits for this agent.
                phase_deadline_ = Clock::time_point::max();
                last_frame_ = Clock::now();
                idle_reading_ = true;
                tighten_watchdog();
                read_available(false);
                co_return;
            }
        } else {
            spdlog::warn(
                "refused {}: no_hello: first message was '{}'", who(), wire::message_type(*first.message));
            state_->metrics.count_handshake("no_hello");
            refuse("protocol", "the first message must be hello");
        }
    }
    end_session();
}

asio::awaitable<bool> AgentSession::handshake() {
    const error_code ec = co_await stream_.handshake();
    if (ec) {
        const long verify_result = SSL_get_verify_result(stream_.native_handle());
        std::string detail = tls::describe_verify_failure(stream_.native_handle());
        if (detail.empty()) {
            detail = stream_.last_error_detail();
        }
        if (detail.empty()) {
            detail = ec.message();
        }
        const auto reason = classify_handshake_failure(ec, verify_result, detail, timed_out_);
        if (timed_out_) {
            detail =
                "no TLS handshake within " + std::to_string(state_->options.handshake_timeout.count()) + " s";
        }
        state_->metrics.count_handshake(reason);
        spdlog::warn("refused {}: {}: {}", who(), reason, util::peer_text(detail, 256));
        co_return false;
    }
    // The handshake deadline now guards the wait for hello.
    phase_deadline_ = Clock::now() + state_->options.handshake_timeout;
    co_return true;
}

asio::awaitable<bool> AgentSession::accept_hello(const wire::Hello& hello) {
    auto certificate = tls::peer_certificate(stream_.native_handle());
    if (!certificate) {
        state_->metrics.count_handshake("no_certificate");
        spdlog::warn("refused {}: no_certificate: no client certificate after the handshake", who());
        refuse("no_certificate", "a client certificate is required");
        co_return false;
    }
    const auto common_name = certs::common_name_of(certificate.get());
    serial_ = certs::serial_of(certificate.get());
    if (const auto refusal = check_hello_identity(hello, common_name)) {
        state_->metrics.count_handshake(refusal->code);
        spdlog::warn("refused {}: {}: {}", who(), refusal->code, refusal->log);
        refuse(refusal->code, refusal->message);
        co_return false;
    }
    {
        std::lock_guard lock(status_mutex_);
        name_ = common_name;
    }
    // Resumed sessions skipped the handshake's certificate checks.
    if (auto ok = certs::check_leaf(certificate.get(), state_->revoked.get(), certs::CertificateKind::agent);
        !ok) {
        const auto refusal = leaf_check_refusal(ok.error());
        state_->metrics.count_handshake(refusal.code);
        spdlog::warn("refused {}: {}: {}", who(), refusal.code, refusal.log);
        refuse(refusal.code, refusal.message);
        co_return false;
    }

    using Lookup = HelloLookup;
    // Point reads only: the zone's host ids come from the snapshot, since
    // reading them costs O(hosts in the zone) on the one store thread, which
    // every hello of a reconnection storm queues behind.
    auto lookup_job = [name = name_, serial = serial_, state = state_](store::Store& store) {
        Lookup lookup;
        lookup.host = store.find_host(name);
        lookup.revoked = store.is_revoked(serial);
        lookup.snapshot = state->snapshot();
        if (lookup.host && !contains_host(*lookup.snapshot, lookup.host->zone, lookup.host->id)) {
            lookup.ids = store.host_ids_in_zone(lookup.host->zone);
        }
        // Read last: every snapshot at least this new has the host in it.
        lookup.generation = store.generation();
        return lookup;
    };
    Lookup lookup;
    try {
        lookup = co_await state_->store.call(std::move(lookup_job));
    } catch (const std::exception& e) {
        spdlog::error("{}: store lookup failed: {}", who(), e.what());
        state_->metrics.count_handshake("store_error");
        refuse("unavailable", "the server cannot read its store; try another server");
        co_return false;
    }
    if (stopped_) {
        co_return false;
    }
    const HelloServer server{
        state_->options.name, state_->options.heartbeat_interval.count(), [this] { return state_->next_seq(); }};
    auto decision = decide_hello(hello, serial_, lookup, server);
    if (const auto* refusal = std::get_if<HelloRefusal>(&decision)) {
        state_->metrics.count_handshake(refusal->code);
        spdlog::warn("refused {}: {}: {}", who(), refusal->code, refusal->log);
        refuse(refusal->code, refusal->message);
        co_return false;
    }
    auto& accepted = std::get<HelloAcceptance>(decision);
    if (!hello.zone.empty() && hello.zone != lookup.host->zone) {
        spdlog::debug("{}: reports zone '{}', registered in '{}'",
                      who(),
                      util::peer_text(hello.zone),
                      lookup.host->zone);
    }
    {
        std::lock_guard lock(status_mutex_);
        host_id_ = lookup.host->id;
        zone_ = lookup.host->zone;
    }
    hello_generation_ = lookup.generation;
    const wire::Welcome welcome = std::move(accepted.welcome);
    set_held(accepted.held);

    state_->registry.add(host_id_, shared_from_this());
    registered_ = true;
    state_->metrics.agents_connected.fetch_add(1);
    state_->metrics.count_handshake("ok");
    // Record the connection before the agent hears `welcome`: during a
    // make-before-break switch the agent closes its old session as soon as
    // it is welcomed here, and the old server's clear_connected_if must find
    // this server's name already in place, never an empty record.
    auto connect_job = [state = state_, host_id = host_id_](store::Store& store) {
        if (!state->stopping.load()) {
            store.set_connected(host_id, state->options.name, util::unix_now());
        }
    };
    try {
        co_await state_->store.call(std::move(connect_job));
    } catch (const std::exception& e) {
        spdlog::error(
            "{}: cannot record the connection in the store (tried again later): {}", who(), e.what());
        state_->recheck_record_later(host_id_);
    }
    {
        std::lock_guard lock(status_mutex_);
        connected_since_ = util::unix_now();
        welcome_sent_ = true;
    }
    send(welcome);
    spdlog::debug("{}: welcome (host id {}, zone {}{})",
                  who(),
                  host_id_,
                  zone_,
                  welcome.correction ? ", with a correction" : "");

    // A snapshot loaded while we were checking would otherwise be missed.
    apply_now(state_->snapshot());
    co_return !stopped_;
}

asio::awaitable<AgentSession::ReadResult> AgentSession::read_message() {
    for (;;) {
        error_code ec;
        auto payload = decoder_.next(ec);
        if (ec) {
            co_return ReadResult{std::nullopt, "bad frame: " + ec.message(), false};
        }
        if (payload) {
            wire::Message message;
            std::string detail;
            ec = wire::decode_message(*payload, message, detail);
            if (ec) {
                co_return ReadResult{
                    std::nullopt, "bad message: " + (detail.empty() ? ec.message() : detail), false};
            }
            co_return ReadResult{std::move(message), {}, false};
        }
        std::size_t size = 0;
        char* buffer = thread_read_buffer(size);
        const std::size_t n = co_await stream_.read_some(buffer, size, ec);
        if (ec) {
            co_return read_failure(ec);
        }
        decoder_.feed(buffer, n);
    }
}

AgentSession::ReadResult AgentSession::read_failure(const error_code& ec) const {
    ReadResult result;
    if (timed_out_) {
        result.reason = name_.empty() ? "no hello in time" : "missed heartbeats, no frame in time";
    } else if (is_routine_close(ec)) {
        result.reason = stopped_ ? "closed by this server" : "closed by the agent";
        result.routine = true;
        if (!decoder_.idle()) {
            result.reason += " in the middle of a frame";
            result.routine = false;
        }
    } else {
        result.reason =
            "read failed: " +
            util::peer_text(stream_.last_error_detail().empty() ? ec.message() : stream_.last_error_detail());
    }
    return result;
}

void AgentSession::end_session() {
    if (ended_) {
        return;
    }
    ended_ = true;
    // A refusal still being written closes the stream itself once it is out.
    if (!(close_after_flush_ && write_blocked_)) {
        close_now();
    }
    if (!registered_) {
        return;
    }
    registered_ = false;
    state_->registry.remove(host_id_, this);
    state_->metrics.agents_connected.fetch_sub(1);
    state_->metrics.pushes_unacked.fetch_sub(static_cast<std::int64_t>(pending_acks_.size()));
    pending_acks_.clear();
    spdlog::debug("{}: disconnected", who());
    auto self = shared_from_this();
    asio::co_spawn(
        stream_.get_executor(),
        [self] { return self->forget_connection(); },
        [](std::exception_ptr e) { log_exception(e, "agent session end"); });
}

asio::awaitable<void> AgentSession::forget_connection() {
    // Decided on the store thread: a newer session of this host that
    // registered meanwhile keeps "connected to".
    auto job = [state = state_, host_id = host_id_](store::Store& store) {
        if (!state->stopping.load() && state->registry.session_count_of(host_id) == 0) {
            store.clear_connected_if(host_id, state->options.name);
        }
    };
    try {
        co_await state_->store.call(std::move(job));
    } catch (const std::exception& e) {
        spdlog::error(
            "{}: cannot clear the connection in the store (tried again later): {}", who(), e.what());
        state_->recheck_record_later(host_id_);
    }
}

}  // namespace agentlb::mgmt
