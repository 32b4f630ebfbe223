#include "mgmt/agent_session.hpp"

#include "certs/inspect.hpp"
#include "certs/verify.hpp"
#include "common/util/exception_text.hpp"
#include "mgmt/handshake_refusal.hpp"
#include "mgmt/log_text.hpp"
#include "mgmt/shared_state.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/ranges.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

namespace agentlb::mgmt {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// One read buffer per I/O thread: an idle session holds none (a session
// never leaves its thread, see io_pool.hpp).
char* thread_read_buffer(std::size_t& size) {
    thread_local std::array<char, 16 * 1024> buffer;
    size = buffer.size();
    return buffer.data();
}

std::string peer_address(const asio::ip::tcp::socket& socket) {
    error_code ec;
    const auto endpoint = socket.remote_endpoint(ec);
    if (ec) {
        return "unknown peer";
    }
    if (endpoint.address().is_v6()) {
        return "[" + endpoint.address().to_string() + "]:" + std::to_string(endpoint.port());
    }
    return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

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
      executor_(socket.get_executor()),
      peer_(peer_address(socket)),
      stream_(std::move(socket), state_->agent_context.get(), tls::Role::server),
      read_deadline_(stream_),
      write_deadline_(stream_),
      writer_wake_(executor_, std::chrono::steady_clock::time_point::max()) {
    status_.address = peer_;
}

AgentSession::~AgentSession() = default;

void AgentSession::start() {
    auto self = shared_from_this();
    asio::co_spawn(
        executor_,
        [self] { return self->run(); },
        [](std::exception_ptr e) { log_exception(e, "agent session"); });
}

void AgentSession::stop() {
    asio::post(executor_, [self = shared_from_this()] { self->close_now(); });
}

void AgentSession::apply(std::shared_ptr<const ClusterSnapshot> snapshot) {
    asio::post(executor_,
               [self = shared_from_this(), snapshot = std::move(snapshot)] { self->apply_now(snapshot); });
}

AgentStatus AgentSession::status() const {
    std::lock_guard lock(status_mutex_);
    return status_;
}

std::string AgentSession::who() const {
    if (name_.empty()) {
        return "connection from " + peer_;
    }
    return "agent " + name_ + " (" + peer_ + ")";
}

void AgentSession::close_now() {
    if (stopped_) {
        return;
    }
    stopped_ = true;
    read_deadline_.cancel();
    write_deadline_.cancel();
    stream_.close();
    writer_wake_.cancel();
}

asio::awaitable<void> AgentSession::run() {
    if (co_await handshake()) {
        auto first = co_await read_message();
        if (!first.message) {
            const auto reason = first.routine ? std::string("closed") : std::string("no_hello");
            spdlog::warn("refused {}: {}: {}", who(), reason, first.reason);
            state_->metrics.count_handshake(reason);
        } else if (const auto* hello = std::get_if<wire::Hello>(&*first.message)) {
            if (co_await accept_hello(*hello)) {
                for (;;) {
                    read_deadline_.expires_after(state_->options.heartbeat_interval *
                                                 kMissedHeartbeatsBeforeDead);
                    auto next = co_await read_message();
                    if (!next.message) {
                        if (next.routine) {
                            spdlog::debug("{}: {}", who(), next.reason);
                        } else {
                            spdlog::warn("{}: closing the session: {}", who(), next.reason);
                        }
                        break;
                    }
                    if (!co_await handle(*next.message)) {
                        break;
                    }
                }
            }
        } else {
            spdlog::warn(
                "refused {}: no_hello: first message was '{}'", who(), wire::message_type(*first.message));
            state_->metrics.count_handshake("no_hello");
            refuse("protocol", "the first message must be hello");
        }
    }
    co_await finish();
}

asio::awaitable<bool> AgentSession::handshake() {
    read_deadline_.expires_after(state_->options.handshake_timeout);
    const error_code ec = co_await stream_.handshake();
    if (ec) {
        const bool timed_out = read_deadline_.expired();
        const long verify_result = SSL_get_verify_result(stream_.native_handle());
        std::string detail = tls::describe_verify_failure(stream_.native_handle());
        if (detail.empty()) {
            detail = stream_.last_error_detail();
        }
        if (detail.empty()) {
            detail = ec.message();
        }
        const auto reason = classify_handshake_failure(ec, verify_result, detail, timed_out);
        if (timed_out) {
            detail =
                "no TLS handshake within " + std::to_string(state_->options.handshake_timeout.count()) + " s";
        }
        state_->metrics.count_handshake(reason);
        spdlog::warn("refused {}: {}: {}", who(), reason, escape_for_log(detail, 256));
        co_return false;
    }
    // The handshake deadline now guards the wait for hello.
    read_deadline_.expires_after(state_->options.handshake_timeout);
    writer_running_ = true;  // before it first runs: refuse() relies on it
    auto self = shared_from_this();
    asio::co_spawn(
        executor_,
        [self] { return self->writer(); },
        [](std::exception_ptr e) { log_exception(e, "agent writer"); });
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
    if (hello.name != common_name) {
        state_->metrics.count_handshake("identity_mismatch");
        spdlog::warn("refused {}: identity_mismatch: certificate is for '{}', hello names '{}'",
                     who(),
                     escape_for_log(common_name),
                     escape_for_log(hello.name));
        refuse("identity_mismatch", "hello names a host other than the certificate's");
        co_return false;
    }
    name_ = common_name;
    // Resumed sessions skipped the handshake's certificate checks.
    if (auto ok = certs::check_leaf(certificate.get(), state_->revoked.get(), certs::CertificateKind::agent);
        !ok) {
        const std::string reason = ok.error().find("revoked") != std::string::npos
                                       ? std::string("revoked")
                                       : std::string("bad_certificate");
        state_->metrics.count_handshake(reason);
        spdlog::warn("refused {}: {}: {}", who(), reason, ok.error());
        refuse(reason, ok.error());
        co_return false;
    }

    struct Lookup {
        std::optional<store::HostRecord> host;
        bool revoked = false;
        std::vector<std::int64_t> ids;
        std::int64_t generation = 0;
    };
    auto lookup_job = [name = name_, serial = serial_](store::Store& store) {
        Lookup lookup;
        lookup.host = store.find_host(name);
        lookup.revoked = store.is_revoked(serial);
        if (lookup.host) {
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
    if (!lookup.host) {
        state_->metrics.count_handshake("unknown_host");
        spdlog::warn("refused {}: unknown_host: no host of that name is registered", who());
        refuse("unknown_host", "host " + name_ + " is not registered");
        co_return false;
    }
    if (lookup.revoked) {
        state_->metrics.count_handshake("revoked");
        spdlog::warn("refused {}: revoked: certificate serial {} is revoked", who(), serial_);
        refuse("revoked", "certificate serial " + serial_ + " is revoked");
        co_return false;
    }
    if (!hello.zone.empty() && hello.zone != lookup.host->zone) {
        spdlog::debug("{}: reports zone '{}', registered in '{}'",
                      who(),
                      escape_for_log(hello.zone),
                      lookup.host->zone);
    }
    host_id_ = lookup.host->id;
    zone_ = lookup.host->zone;
    hello_generation_ = lookup.generation;

    const auto snapshot = state_->snapshot();
    const auto computed = compute_assignment(*snapshot, lookup.ids, host_id_);
    const auto reported = held_from_hello(hello.list, hello.interval);

    wire::Welcome welcome;
    welcome.host_id = host_id_;
    welcome.server = state_->options.name;
    welcome.heartbeat_interval = state_->options.heartbeat_interval.count();
    if (needs_update(reported, computed, *snapshot->algorithm)) {
        const auto correction = assignment_to_send(reported, computed, *snapshot->algorithm);
        welcome.correction = wire::MsList{
            state_->next_seq(), correction.list, correction.algorithm, correction.interval, correction.avoid};
        held_ = correction;
    } else {
        held_ = reported;
    }

    read_deadline_.cancel();
    state_->registry.add(host_id_, shared_from_this());
    registered_ = true;
    state_->metrics.agents_connected.fetch_add(1);
    state_->metrics.count_handshake("ok");
    {
        std::lock_guard lock(status_mutex_);
        status_.host_id = host_id_;
        status_.name = name_;
        status_.zone = zone_;
        status_.held = held_;
        status_.connected_since = unix_now();
        status_.welcomed = true;
    }
    // Record the connection before the agent hears `welcome`: during a
    // make-before-break switch the agent closes its old session as soon as
    // it is welcomed here, and the old server's clear_connected_if must find
    // this server's name already in place, never an empty record.
    auto connect_job = [state = state_, host_id = host_id_](store::Store& store) {
        if (!state->stopping.load()) {
            store.set_connected(host_id, state->options.name, unix_now());
        }
    };
    try {
        co_await state_->store.call(std::move(connect_job));
    } catch (const std::exception& e) {
        spdlog::error("{}: cannot record the connection in the store: {}", who(), e.what());
    }
    send(welcome);
    welcome_sent_ = true;
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
    ReadResult result;
    for (;;) {
        error_code ec;
        auto payload = decoder_.next(ec);
        if (ec) {
            result.reason = "bad frame: " + ec.message();
            co_return result;
        }
        if (payload) {
            wire::Message message;
            std::string detail;
            ec = wire::decode_message(*payload, message, detail);
            if (ec) {
                result.reason = "bad message: " + (detail.empty() ? ec.message() : detail);
                co_return result;
            }
            result.message = std::move(message);
            co_return result;
        }
        std::size_t size = 0;
        char* buffer = thread_read_buffer(size);
        const std::size_t n = co_await stream_.read_some(buffer, size, ec);
        if (ec) {
            if (read_deadline_.expired()) {
                result.reason = name_.empty() ? "no hello in time" : "missed heartbeats, no frame in time";
            } else if (is_routine_close(ec)) {
                result.reason = stopped_ ? "closed by this server" : "closed by the agent";
                result.routine = true;
                if (!decoder_.idle()) {
                    result.reason += " in the middle of a frame";
                    result.routine = false;
                }
            } else {
                result.reason = "read failed: " + escape_for_log(stream_.last_error_detail().empty()
                                                                     ? ec.message()
                                                                     : stream_.last_error_detail());
            }
            co_return result;
        }
        decoder_.feed(buffer, n);
    }
}

asio::awaitable<bool> AgentSession::handle(const wire::Message& message) {
    if (const auto* ping = std::get_if<wire::Ping>(&message)) {
        send(wire::Pong{ping->seq});
        co_return true;
    }
    if (const auto* ack = std::get_if<wire::Ack>(&message)) {
        auto it = pending_acks_.find(ack->seq);
        if (it != pending_acks_.end()) {
            const std::chrono::duration<double> latency = std::chrono::steady_clock::now() - it->second;
            state_->metrics.push_latency.observe(latency.count());
            state_->metrics.pushes_acked.fetch_add(1);
            state_->metrics.pushes_unacked.fetch_sub(1);
            pending_acks_.erase(it);
        }
        co_return true;
    }
    if (const auto* renew_request = std::get_if<wire::Renew>(&message)) {
        co_await renew(renew_request->csr);
        co_return !stopped_;
    }
    spdlog::warn("{}: closing the session: unexpected message '{}'", who(), wire::message_type(message));
    co_return false;
}

asio::awaitable<void> AgentSession::renew(std::string csr) {
    auto job = [state = state_, csr = std::move(csr), name = name_, host_id = host_id_](
                   store::Store& store) -> Result<std::string> {
        certs::IssueOptions options;
        options.kind = certs::CertificateKind::agent;
        options.common_name = name;
        auto issued = state->ca.issue(csr, options);
        if (!issued) {
            return fail(issued.error());
        }
        store.record_certificate(host_id,
                                 store::IssuedCertificate{issued->pem, issued->serial, issued->not_after});
        return issued->pem;
    };
    try {
        auto issued = co_await state_->store.call(std::move(job));
        if (!issued) {
            spdlog::warn("{}: renewal refused: {}", who(), issued.error());
            send(wire::Error{"renew_refused", issued.error()});
            co_return;
        }
        spdlog::info("{}: issued a renewed certificate", who());
        send(wire::Certificate{std::move(issued).value(), state_->ca.certificate_pem()});
    } catch (const std::exception& e) {
        spdlog::error("{}: renewal failed: {}", who(), e.what());
        send(wire::Error{"unavailable", "the certificate could not be renewed; try again later"});
    }
}

void AgentSession::apply_now(const std::shared_ptr<const ClusterSnapshot>& snapshot) {
    if (stopped_ || close_after_flush_ || !registered_ || !welcome_sent_ ||
        snapshot->generation < hello_generation_) {
        return;
    }
    const auto zone = snapshot->host_ids_by_zone.find(zone_);
    const bool present = zone != snapshot->host_ids_by_zone.end() &&
                         std::binary_search(zone->second.begin(), zone->second.end(), host_id_);
    if (!present) {
        spdlog::info("{}: host removed, closing its session", who());
        refuse("revoked", "host " + name_ + " was removed");
        return;
    }
    if (state_->revoked->is_revoked(serial_)) {
        spdlog::info("{}: certificate serial {} revoked, closing its session", who(), serial_);
        refuse("revoked", "certificate serial " + serial_ + " is revoked");
        return;
    }
    const auto next = compute_assignment(*snapshot, zone_, host_id_);
    if (!needs_update(held_, next, *snapshot->algorithm)) {
        return;
    }
    const auto update = assignment_to_send(held_, next, *snapshot->algorithm);
    const auto seq = state_->next_seq();
    if (pending_acks_.size() >= kMaxPendingAcks) {
        pending_acks_.erase(pending_acks_.begin());
        state_->metrics.pushes_unacked.fetch_sub(1);
    }
    pending_acks_.emplace(seq, std::chrono::steady_clock::now());
    state_->metrics.pushes_sent.fetch_add(1);
    state_->metrics.pushes_unacked.fetch_add(1);
    set_held(update);
    spdlog::debug("{}: push seq {}: {}@{} interval {} avoid [{}]",
                  who(),
                  seq,
                  fmt::join(update.list, ","),
                  update.algorithm,
                  update.interval,
                  fmt::join(update.avoid, ","));
    send(wire::MsList{seq, update.list, update.algorithm, update.interval, update.avoid});
}

void AgentSession::set_held(const Assignment& held) {
    held_ = held;
    std::lock_guard lock(status_mutex_);
    status_.held = held;
}

void AgentSession::send(const wire::Message& message) {
    if (stopped_ || close_after_flush_) {
        return;
    }
    if (queue_.size() >= kMaxQueuedFrames) {
        spdlog::warn(
            "{}: closing the session: {} frames waiting, the agent does not read", who(), queue_.size());
        close_now();
        return;
    }
    auto frame = wire::encode_frame(wire::encode_message(message));
    if (!frame) {
        // Our own message too large: a bug, but it must not take the server down.
        spdlog::error(
            "{}: cannot frame a '{}' message: {}", who(), wire::message_type(message), frame.error());
        close_now();
        return;
    }
    queue_.push_back(std::move(frame).value());
    writer_wake_.cancel();
}

void AgentSession::refuse(std::string_view code, const std::string& message) {
    send(wire::Error{std::string(code), message});
    close_after_flush_ = true;
    writer_wake_.cancel();
    if (!writer_running_) {
        close_now();
    }
}

asio::awaitable<void> AgentSession::writer() {
    const auto write_timeout = state_->options.heartbeat_interval * kMissedHeartbeatsBeforeDead;
    while (!stopped_) {
        if (queue_.empty()) {
            if (close_after_flush_) {
                break;
            }
            writer_wake_.expires_at(std::chrono::steady_clock::time_point::max());
            error_code ignored;
            co_await writer_wake_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
            continue;
        }
        std::string frame = std::move(queue_.front());
        queue_.pop_front();
        write_deadline_.expires_after(write_timeout);
        const error_code ec = co_await stream_.write_all(frame.data(), frame.size());
        write_deadline_.cancel();
        if (ec) {
            if (!stopped_ && !is_routine_close(ec)) {
                spdlog::debug("{}: write failed: {}", who(), ec.message());
            }
            close_now();
            break;
        }
    }
    if (close_after_flush_ && !stopped_) {
        co_await stream_.shutdown();
        close_now();
    }
    writer_running_ = false;
}

asio::awaitable<void> AgentSession::finish() {
    read_deadline_.cancel();
    if (!close_after_flush_ || !writer_running_) {
        close_now();
    }
    if (!registered_) {
        co_return;
    }
    registered_ = false;
    state_->registry.remove(host_id_, this);
    state_->metrics.agents_connected.fetch_sub(1);
    state_->metrics.pushes_unacked.fetch_sub(static_cast<std::int64_t>(pending_acks_.size()));
    pending_acks_.clear();
    spdlog::debug("{}: disconnected", who());
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
        spdlog::error("{}: cannot clear the connection in the store: {}", who(), e.what());
    }
}

}  // namespace agentlb::mgmt
