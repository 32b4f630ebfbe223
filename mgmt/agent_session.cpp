#include "mgmt/agent_session.hpp"

#include "certs/inspect.hpp"
#include "certs/verify.hpp"
#include "common/tls/agent_certificate.hpp"
#include "common/util/bounded_join.hpp"
#include "common/util/clock.hpp"
#include "common/util/exception_text.hpp"
#include "common/util/text.hpp"
#include "mgmt/agent_store_jobs.hpp"
#include "mgmt/drain.hpp"
#include "mgmt/handshake_refusal.hpp"
#include "mgmt/peer_address.hpp"
#include "mgmt/shared_state.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/query.hpp>

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <array>
#include <map>

namespace agentlb::mgmt {

namespace asio = boost::asio;
using boost::system::error_code;
using wait_type = asio::ip::tcp::socket::wait_type;
using protocol::CloseReason;

namespace {

// Reads per wake-up before yielding to the thread's other sessions: an agent
// that sends without pause cannot starve them.
constexpr int kReadsPerTurn = 16;

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

AgentSession::AgentSession(asio::ip::tcp::socket socket,
                           std::shared_ptr<SharedState> state,
                           Admission::Slot admission)
    : state_(std::move(state)),
      admission_(std::move(admission)),
      peer_(peer_address(socket)),
      stream_(std::move(socket), state_->tls.current()->agent.get(), tls::Role::server),
      watchdog_(stream_.get_executor()),
      machine_(state_->agent_settings, protocol::Clock::now()) {}

AgentSession::~AgentSession() = default;

void AgentSession::start() {
    arm_watchdog();
    auto self = shared_from_this();
    asio::co_spawn(
        stream_.get_executor(),
        [self] { return self->handshake(); },
        [](std::exception_ptr e) { log_exception(e, "agent session"); });
}

void AgentSession::stop() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
        self->feed([](protocol::ServerMachine& m) {
            return m.on_abort(CloseReason::stopped, "closed by this server", protocol::Clock::now());
        });
    });
}

void AgentSession::close_superseded(std::string by) {
    asio::post(stream_.get_executor(), [self = shared_from_this(), by = std::move(by)] {
        self->superseded_by_ = by;
        self->feed([&by](protocol::ServerMachine& m) { return m.on_superseded(by, protocol::Clock::now()); });
    });
}

void AgentSession::migrate(std::string reason, std::vector<std::string> avoid, std::vector<std::string> to) {
    asio::post(stream_.get_executor(),
               [self = shared_from_this(),
                reason = std::move(reason),
                avoid = std::move(avoid),
                to = std::move(to)]() mutable {
                   if (self->machine_.welcomed()) {
                       self->migrate_reason_ = reason;
                   }
                   self->feed([&](protocol::ServerMachine& m) {
                       return m.on_migrate(
                           std::move(reason), std::move(avoid), protocol::Clock::now(), std::move(to));
                   });
               });
}

void AgentSession::end_draining(std::string why) {
    asio::post(stream_.get_executor(), [self = shared_from_this(), why = std::move(why)]() mutable {
        self->feed([&](protocol::ServerMachine& m) {
            return m.on_draining(std::move(why), protocol::Clock::now());
        });
    });
}

void AgentSession::apply_to_all(std::vector<std::shared_ptr<AgentSession>> sessions,
                                const std::shared_ptr<const ClusterSnapshot>& snapshot) {
    // Sessions never change thread: one batch per io_context.
    std::map<asio::execution_context*, std::vector<std::shared_ptr<AgentSession>>> batches;
    for (auto& session : sessions) {
        auto* context = &asio::query(session->stream_.get_executor(), asio::execution::context);
        batches[context].push_back(std::move(session));
    }
    for (auto& [context, batch] : batches) {
        auto executor = batch.front()->stream_.get_executor();
        asio::post(executor, [batch = std::move(batch), snapshot] {
            for (const auto& session : batch) {
                session->apply_now(snapshot);
            }
        });
    }
}

AgentStatus AgentSession::status() const {
    std::lock_guard lock(status_mutex_);
    AgentStatus status;
    status.address = peer_;
    if (machine_.welcomed()) {
        status.host_id = machine_.host_id();
        status.name = machine_.name();
        status.zone = machine_.zone();
        status.held = machine_.held();
        status.connected_since = connected_since_;
        status.welcomed = true;
        status.rtt_us = machine_.rtt_us();
    }
    return status;
}

std::string AgentSession::who() const {
    if (machine_.name().empty()) {
        return "connection from " + peer_;
    }
    return "agent " + machine_.name() + " (" + peer_ + ")";
}

// ---- Store jobs and the handshake: short-lived coroutines.

asio::awaitable<void> AgentSession::handshake() {
    const error_code ec = co_await stream_.handshake();
    if (machine_.state() == protocol::ServerMachine::State::closed) {
        co_return;  // the deadline or a stop closed it, and said why
    }
    if (ec) {
        std::string detail = tls::describe_verify_failure(stream_.native_handle());
        if (detail.empty()) {
            detail = stream_.last_error_detail();
        }
        if (detail.empty()) {
            detail = ec.message();
        }
        const auto reason =
            classify_handshake_failure(ec, SSL_get_verify_result(stream_.native_handle()), false);
        state_->metrics.count_handshake(reason, HandshakeKind::full);
        spdlog::warn("refused {}: {}: {}", who(), reason, util::peer_text(detail, 256));
        state_->events.add(refusal_event(util::unix_now(), who(), reason, util::peer_text(detail, 256)));
        feed([](protocol::ServerMachine& m) {
            return m.on_abort(CloseReason::handshake_failed, {}, protocol::Clock::now());
        });
        co_return;
    }
    // A resumed session ran no verify callback: agent_certificate() checks
    // the session's certificate (revocation, expiry) as for a full one.
    resumed_ = stream_.resumed();
    state_->metrics.observe_handshake(
        handshake_kind(),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - accepted_at_).count());
    auto certificate = tls::agent_certificate(stream_.native_handle(), state_->revoked.get());
    {
        X509* peer = SSL_get0_peer_certificate(stream_.native_handle());
        std::lock_guard lock(status_mutex_);
        issuer_key_id_ = authority_key_id_of(peer);
    }
    feed([&certificate](protocol::ServerMachine& m) {
        return m.on_handshake_done(std::move(certificate), protocol::Clock::now());
    });
    read_available(false);
}

// ---- Reading: no coroutine.

char* AgentSession::thread_read_buffer(std::size_t& size) {
    thread_local std::array<char, 16 * 1024> buffer;
    size = buffer.size();
    return buffer.data();
}

void AgentSession::read_available(bool readable) {
    for (int turn = 0; turn < kReadsPerTurn; ++turn) {
        if (!machine_.wants_input() || ending_ != Ending::no) {
            return;  // paused for the store or a renewal (resumed by its answer), or ended
        }
        // Asio's wait re-arms the descriptor (EPOLL_CTL_MOD), which reports
        // data already waiting: a read that would only find the socket empty
        // (one more system call per frame) is skipped.
        if (!readable && !stream_.has_pending()) {
            wait_readable(wait_type::wait_read);
            return;
        }
        readable = false;
        std::size_t size = 0;
        char* buffer = thread_read_buffer(size);
        error_code ec;
        wait_type want = wait_type::wait_read;
        const std::size_t n = stream_.read_now(buffer, size, ec, want);
        if (ec == asio::error::would_block) {
            wait_readable(want);
            return;
        }
        if (ec) {
            const bool routine = is_routine_close(ec);
            std::string detail =
                routine ? std::string()
                        : util::peer_text(stream_.last_error_detail().empty() ? ec.message()
                                                                              : stream_.last_error_detail());
            feed([&](protocol::ServerMachine& m) {
                return m.on_read_error(routine, std::move(detail), protocol::Clock::now());
            });
            return;
        }
        feed([&](protocol::ServerMachine& m) { return m.on_bytes(buffer, n, protocol::Clock::now()); });
    }
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->read_available(false); });
}

void AgentSession::wait_readable(wait_type want) {
    if (!stream_.is_open()) {
        return;
    }
    stream_.socket().async_wait(want, [self = shared_from_this()](const error_code& ec) {
        // After close() the descriptor number may belong to another
        // connection already: never hand it to OpenSSL again.
        if (ec || !self->stream_.is_open()) {
            self->feed([&ec](protocol::ServerMachine& m) {
                return m.on_read_error(true, ec ? ec.message() : std::string(), protocol::Clock::now());
            });
            return;
        }
        self->read_available(true);
    });
}

// ---- The machine's inputs and actions.

void AgentSession::carry_out(protocol::Actions actions) {
    auto self = shared_from_this();
    ++flush_deferred_;
    std::vector<wire::App> from_host;
    for (auto& action : actions) {
        if (auto* send_action = std::get_if<protocol::Send>(&action)) {
            send(send_action->message);
        } else if (auto* lookup = std::get_if<protocol::LookupHost>(&action)) {
            asio::co_spawn(
                stream_.get_executor(),
                [self, request = std::move(*lookup)]() mutable { return self->look_up(std::move(request)); },
                [](std::exception_ptr e) { log_exception(e, "agent hello"); });
        } else if (auto* recording = std::get_if<protocol::RecordConnection>(&action)) {
            state_->registry.add(recording->host_id, self);
            registered_ = true;
            state_->metrics.agents_connected.fetch_add(1);
            state_->metrics.count_handshake("ok", handshake_kind());
            if (!previous_server_.empty()) {
                const std::string from = previous_server_;
                if (state_->failovers.arrived(machine_.name(),
                                              std::move(previous_server_),
                                              state_->servers(),
                                              FailoverWatch::Clock::now())) {
                    state_->metrics.failovers_observed.fetch_add(1);
                    state_->events.add(failover_event(util::unix_now(), machine_.name(), from));
                }
            }
            asio::co_spawn(
                stream_.get_executor(),
                [self, host_id = recording->host_id] { return self->record(host_id); },
                [](std::exception_ptr e) { log_exception(e, "agent hello"); });
        } else if (auto* welcomed = std::get_if<protocol::Welcomed>(&action)) {
            admission_.release();  // the handshake is done: room for the next one
            attach_app();
            {
                std::lock_guard lock(status_mutex_);
                connected_since_ = util::unix_now();
            }
            spdlog::debug("{}: welcome (host id {}, zone {}, {}{})",
                          who(),
                          machine_.host_id(),
                          machine_.zone(),
                          resumed_ ? "resumed" : "full handshake",
                          welcomed->corrected ? ", with a correction" : "");
            // After what this handler writes (welcome, the first list).
            asio::post(stream_.get_executor(), [self] { self->send_ticket(); });
            // Also without --hook: the status page's events are fed from these.
            hook_connected_ = true;
            state_->post_hook(
                agent_hook_event(kHookAgentConnected,
                                 state_->options.name,
                                 HookHost{machine_.name(), machine_.host_id(), machine_.zone()}));
            // A snapshot loaded while we were checking would otherwise be missed.
            apply_now(state_->snapshot());
            const auto cas = state_->ca.view();
            offer_trust(cas);
            // An agent that was away when --reissue-all ran renews now.
            if (state_->reissue_all.load() && !cas->issuer_outdated &&
                certificate_from(cas->previous_key_id)) {
                reissue();
            }
            // A drain that began while this hello was looked up: the drain's
            // current round did not see this session, so it is asked here.
            if (const auto why = Drain::hello_refusal(*state_); why != DrainRule::Why::none) {
                migrate(Drain::migrate_reason(state_->options.name, why), {state_->advertise});
                state_->metrics.count_migrations(why == DrainRule::Why::shutdown
                                                     ? MigrationReason::shutdown
                                                     : MigrationReason::maintenance,
                                                 1);
            }
        } else if (auto* renewal = std::get_if<protocol::IssueCertificate>(&action)) {
            asio::co_spawn(
                stream_.get_executor(),
                [self, csr = std::move(renewal->csr)]() mutable { return self->issue(std::move(csr)); },
                [](std::exception_ptr e) { log_exception(e, "agent renewal"); });
        } else if (auto* pushed = std::get_if<protocol::Pushed>(&action)) {
            state_->metrics.pushes_sent.fetch_add(1);
            state_->metrics.pushes_unacked.fetch_add(1);
            const auto& held = machine_.held();
            spdlog::debug("{}: push seq {}: {}@{} interval {} avoid [{}]",
                          who(),
                          pushed->seq,
                          util::join_bounded(held.list),
                          held.algorithm,
                          held.interval,
                          util::join_bounded(held.avoid));
        } else if (auto* acked = std::get_if<protocol::PushAcked>(&action)) {
            const std::chrono::duration<double> latency = acked->latency;
            state_->metrics.push_latency.observe(latency.count());
            state_->metrics.pushes_acked.fetch_add(1);
            state_->metrics.pushes_unacked.fetch_sub(1);
        } else if (auto* lost = std::get_if<protocol::PushGivenUp>(&action)) {
            spdlog::warn("{}: list seq {} was never acknowledged ({}): the agent may not have stored it",
                         who(),
                         lost->seq,
                         lost->why);
            state_->metrics.pushes_unanswered.fetch_add(1);
            state_->metrics.pushes_unacked.fetch_sub(1);
        } else if (auto* closing = std::get_if<protocol::Close>(&action)) {
            close(*closing);
        } else if (auto* app = std::get_if<protocol::AppFromHost>(&action)) {
            from_host.push_back(std::move(app->app));
        }
    }
    if (!from_host.empty()) {
        route_apps(std::move(from_host));
    }
    if (--flush_deferred_ == 0 && flush_due_) {
        flush();
    }
}

void AgentSession::apply_now(const std::shared_ptr<const ClusterSnapshot>& snapshot) {
    if (!machine_.welcomed()) {
        return;
    }
    protocol::AssignmentUpdate update;
    update.generation = snapshot->generation;
    update.algorithm = snapshot->algorithm;
    // Found by id, not in the hello's zone: a host moved to another zone or
    // cluster (agentlbctl host set) keeps its session and gets the list of
    // where it is now.
    const KnownHost* host = find_host_by_id(*snapshot, machine_.host_id());
    update.host_present = host != nullptr;
    if (host != nullptr) {
        const lb::ConfigScope place{host->zone, host->cluster};
        update.algorithm = settings_for(*snapshot, place).algorithm;
        update.serial_revoked = state_->revoked->is_revoked(machine_.serial());
        if (!update.serial_revoked) {
            update.next = compute_assignment(*snapshot, place, machine_.host_id());
            update.renewal = renewal_of(certificate_settings_at(*snapshot, place));
        }
    }
    feed([&update, this](protocol::ServerMachine& m) {
        return m.on_assignment(update, state_->seqs, protocol::Clock::now());
    });
}

// ---- The watchdog: one timer, armed at the machine's deadline.

// A frame only moves the deadline later: the watchdog then fires early and
// re-arms, so no frame touches the timer. Only an input that brings the
// deadline closer (welcome, a blocked write, a push) re-arms it at once.
void AgentSession::tighten_watchdog() {
    if (ending_ != Ending::done && machine_.deadline() < watchdog_.expiry()) {
        arm_watchdog();
    }
}

void AgentSession::arm_watchdog() {
    watchdog_.expires_at(machine_.deadline());
    watchdog_.async_wait([weak = weak_from_this()](const error_code& ec) {
        auto self = weak.lock();
        if (!ec && self) {
            self->on_watchdog();
        }
    });
}

void AgentSession::on_watchdog() {
    feed([](protocol::ServerMachine& m) { return m.on_timer(protocol::Clock::now()); });
    if (ending_ != Ending::done) {
        arm_watchdog();
    }
}

}  // namespace agentlb::mgmt
