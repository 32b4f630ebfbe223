#include "tests/support/fake_mgmt.hpp"

#include "certs/ca.hpp"
#include "certs/inspect.hpp"
#include "certs/verify.hpp"
#include "common/lb/algorithm.hpp"
#include "common/protocol/server_machine.hpp"
#include "common/tls/agent_certificate.hpp"
#include "common/tls/context.hpp"
#include "common/tls/message_reader.hpp"
#include "common/tls/stream.hpp"
#include "common/tls/timeouts.hpp"
#include "common/util/exception_text.hpp"
#include "common/wire/error.hpp"
#include "common/wire/frame.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/ssl.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace agentlb::test {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

// A bug in a coroutine of the fake must show in the test's output.
void report_exception(std::exception_ptr ep) {
    if (auto text = util::exception_text(ep)) {
        std::fprintf(stderr, "FakeMgmt: coroutine ended by an exception: %s\n", text->c_str());
    }
}

}  // namespace

struct FakeMgmt::Impl {
    class Connection;

    asio::io_context context;
    asio::executor_work_guard<asio::io_context::executor_type> guard{context.get_executor()};
    tls::SslCtxPtr ssl_context;
    tcp::acceptor acceptor{context};
    FakeMgmtOptions options;
    protocol::ServerSettings settings;  // the sessions' machines read it
    protocol::SeqCounter seqs;
    std::string address;  // set before the thread starts; the acceptor is the I/O thread's
    std::vector<std::shared_ptr<Connection>> connections;  // I/O thread only; index = accept order

    mutable std::mutex mutex;
    std::vector<FakeSession> sessions;  // under mutex

    std::thread thread;

    template <class F>
    void record(std::size_t index, F&& update) {
        std::lock_guard lock(mutex);
        update(sessions.at(index));
    }

    asio::awaitable<void> accept_loop();
};

// One accepted connection, driven like agentlb-mgmt drives its sessions: the
// rules (hello -> welcome, ping -> pong, deadlines) are protocol::ServerMachine's;
// the store lookup is answered from the options. A reader hands each decoded
// message to the machine (recording it first), a writer drains the queue
// (TlsStream allows one of each), and a watchdog gives the machine its timer.
class FakeMgmt::Impl::Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(tcp::socket socket, SSL_CTX* context, std::size_t index, Impl& owner)
        : stream_(std::move(socket), context, tls::Role::server),
          watchdog_(stream_.get_executor()),
          write_signal_(stream_.get_executor()),
          machine_(owner.settings, protocol::Clock::now()),
          index_(index),
          owner_(owner) {}

    bool welcomed() const { return machine_.welcomed(); }
    bool is_closed() const { return closed_; }

    void queue(std::string frame) {
        outbox_.push_back(std::move(frame));
        write_signal_.cancel_one();
    }

    // Idempotent; the first reason is kept.
    void close(const std::string& reason, bool peer_close_notify = false) {
        if (closed_) {
            return;
        }
        closed_ = true;
        watchdog_.cancel();
        write_signal_.cancel();
        stream_.close();
        const auto now = FakeSession::Clock::now();
        if (owner_.options.on_close) {
            owner_.options.on_close(index_);
        }
        owner_.record(index_, [&](FakeSession& s) {
            s.closed = true;
            s.closed_at = now;
            s.close_reason = reason;
            s.peer_close_notify = peer_close_notify;
        });
        (void)machine_.on_abort(protocol::CloseReason::stopped, reason, protocol::Clock::now());
    }

    asio::awaitable<void> run() {
        auto self = shared_from_this();
        asio::co_spawn(
            stream_.get_executor(), [self] { return self->watch(); }, report_exception);
        error_code ec = co_await stream_.handshake();
        if (ec) {
            close("handshake: " + describe(ec));
            co_return;
        }
        auto certificate = tls::agent_certificate(stream_.native_handle(), nullptr);
        carry_out(machine_.on_handshake_done(std::move(certificate), protocol::Clock::now()));
        asio::co_spawn(
            stream_.get_executor(), [self] { return self->write_loop(); }, report_exception);

        wire::Message message;
        std::string detail;
        while (!closed_) {
            ec = co_await tls::read_message(stream_, intake_, message, detail);
            if (ec) {
                if (closed_) {
                    break;
                }
                if (ec == asio::error::eof) {
                    const bool notified =
                        (SSL_get_shutdown(stream_.native_handle()) & SSL_RECEIVED_SHUTDOWN) != 0;
                    close(machine_.welcomed() ? "closed by the agent" : "before hello: " + describe(ec),
                          notified);
                } else if (ec.category() == wire::wire_category()) {
                    close((machine_.welcomed() ? "protocol error: " : "before hello: ") + detail);
                } else {
                    close((machine_.welcomed() ? "read failed: " : "before hello: ") + describe(ec));
                }
                break;
            }
            observe(message);
            carry_out(machine_.on_message(message, protocol::Clock::now()));
        }
    }

private:
    // What the test can read back: hello's fields, pings, the other types.
    void observe(const wire::Message& message) {
        if (const auto* hello = std::get_if<wire::Hello>(&message)) {
            if (machine_.state() == protocol::ServerMachine::State::awaiting_hello) {
                owner_.record(index_, [&](FakeSession& s) {
                    s.hello_name = hello->name;
                    s.hello_list = hello->list;
                    s.hello_interval = hello->interval;
                });
                return;
            }
        }
        if (std::holds_alternative<wire::Ping>(message) && machine_.welcomed()) {
            owner_.record(index_, [](FakeSession& s) { ++s.pings; });
            return;
        }
        const std::string type(wire::message_type(message));
        owner_.record(index_, [&](FakeSession& s) { s.received.push_back(type); });
    }

    // The options stand in for the store.
    protocol::HostLookup lookup() const {
        protocol::HostLookup answer;
        answer.found = true;
        answer.host_id = owner_.options.host_id;
        answer.algorithm = lb::find_algorithm("static").value();
        if (const auto& correction = owner_.options.correction) {
            // Sent whenever the agent holds something else (an empty list is never sent).
            answer.assignment = lb::Assignment{
                correction->list, correction->algorithm, correction->interval, correction->avoid};
            if (auto algorithm = lb::find_algorithm(correction->algorithm)) {
                answer.algorithm = *algorithm;
            }
        }
        return answer;
    }

    protocol::Issued issue(const wire::Renew& renew) const {
        protocol::Issued issued;  // unset or no answer: "unavailable"
        if (!owner_.options.on_renew) {
            return issued;
        }
        auto answer = owner_.options.on_renew(renew);
        if (!answer) {
            return issued;
        }
        if (const auto* certificate = std::get_if<wire::Certificate>(&*answer)) {
            issued.outcome = protocol::Issued::Outcome::issued;
            issued.certificate = certificate->certificate;
            issued.ca = certificate->ca;
        } else if (const auto* error = std::get_if<wire::Error>(&*answer)) {
            issued.outcome = protocol::Issued::Outcome::refused;
            issued.reason = error->message;
        }
        return issued;
    }

    void carry_out(protocol::Actions actions) {
        for (auto& action : actions) {
            if (auto* send = std::get_if<protocol::Send>(&action)) {
                if (auto frame = wire::encode_frame(wire::encode_message(send->message))) {
                    queue(std::move(*frame));
                } else {
                    close("cannot encode " + std::string(wire::message_type(send->message)) + ": " +
                          frame.error());
                }
            } else if (std::holds_alternative<protocol::LookupHost>(action)) {
                carry_out(machine_.on_lookup(lookup(), owner_.seqs, protocol::Clock::now()));
            } else if (std::holds_alternative<protocol::RecordConnection>(action)) {
                carry_out(machine_.on_recorded(protocol::Clock::now()));
            } else if (std::holds_alternative<protocol::Welcomed>(action)) {
                const auto now = FakeSession::Clock::now();
                owner_.record(index_, [&](FakeSession& s) {
                    s.welcomed = true;
                    s.welcomed_at = now;
                });
            } else if (auto* renewal = std::get_if<protocol::IssueCertificate>(&action)) {
                wire::Renew renew{renewal->csr};
                carry_out(machine_.on_issued(issue(renew), protocol::Clock::now()));
            } else if (auto* closing = std::get_if<protocol::Close>(&action)) {
                const std::string why =
                    std::string(protocol::close_reason_text(closing->reason)) + ": " + closing->detail;
                if (closing->flush_first && !outbox_.empty()) {
                    close_after_flush_ = why;
                } else {
                    close(why);
                }
            }
        }
    }

    std::string describe(const error_code& ec) const {
        return stream_.last_error_detail().empty() ? ec.message() : stream_.last_error_detail();
    }

    // The machine's timer, checked often: early calls are harmless.
    asio::awaitable<void> watch() {
        auto self = shared_from_this();
        while (!closed_) {
            const auto soon = protocol::Clock::now() + std::chrono::milliseconds(100);
            watchdog_.expires_at(std::min(machine_.deadline(), soon));
            error_code ec;
            co_await watchdog_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            if (closed_) {
                break;
            }
            carry_out(machine_.on_timer(protocol::Clock::now()));
        }
    }

    asio::awaitable<void> write_loop() {
        auto self = shared_from_this();
        while (!closed_) {
            if (outbox_.empty()) {
                if (close_after_flush_) {
                    close(*close_after_flush_);
                    break;
                }
                write_signal_.expires_at(asio::steady_timer::time_point::max());
                error_code ignored;
                co_await write_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
                continue;
            }
            const std::string frame = outbox_.front();
            const error_code ec = co_await stream_.write_all(frame.data(), frame.size());
            if (ec) {
                close("write failed: " + describe(ec));
                break;
            }
            outbox_.pop_front();
        }
    }

    tls::TlsStream stream_;
    asio::steady_timer watchdog_;  // after stream_: destroyed first
    asio::steady_timer write_signal_;
    protocol::ServerMachine machine_;
    protocol::FrameIntake intake_;
    std::deque<std::string> outbox_;
    std::optional<std::string> close_after_flush_;  // a refusal being written
    std::size_t index_;
    Impl& owner_;
    bool closed_ = false;
};

asio::awaitable<void> FakeMgmt::Impl::accept_loop() {
    for (;;) {
        tcp::socket socket(context);
        error_code ec;
        auto token = asio::redirect_error(asio::use_awaitable, ec);
        co_await acceptor.async_accept(socket, token);
        if (ec) {
            co_return;  // closed by the destructor (or a failure a test cannot use anyway)
        }
        std::size_t index = 0;
        {
            std::lock_guard lock(mutex);
            index = sessions.size();
            sessions.emplace_back();
        }
        auto connection = std::make_shared<Connection>(std::move(socket), ssl_context.get(), index, *this);
        connections.push_back(connection);
        asio::co_spawn(
            context, [connection] { return connection->run(); }, report_exception);
    }
}

FakeMgmt::FakeMgmt(const CaFixture& fixture, const std::string& ip, FakeMgmtOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {
    impl_->options = options_;
    impl_->settings = protocol::ServerSettings{
        options_.name, tls::kHandshakeTimeout, std::chrono::seconds(options_.heartbeat_interval)};

    auto [key_pem, csr_pem] = make_key_and_csr(options_.name);
    certs::IssueOptions issue;
    issue.kind = certs::CertificateKind::server;
    issue.common_name = options_.name;
    issue.ip_addresses.push_back(ip);
    auto issued = fixture.ca().issue(csr_pem, issue);
    if (!issued) {
        throw std::runtime_error("FakeMgmt: cannot issue a server certificate for " + ip + ": " +
                                 issued.error());
    }
    auto context = tls::make_agent_port_server_context(
        tls::AgentPortServerConfig{fixture.ca_pem(), issued->pem, key_pem, {}});
    if (!context) {
        throw std::runtime_error("FakeMgmt: agent port context: " + context.error());
    }
    impl_->ssl_context = std::move(context).value();

    // The acceptor constructor sets SO_REUSEADDR and throws when it cannot bind.
    impl_->acceptor = tcp::acceptor(impl_->context, tcp::endpoint(asio::ip::make_address(ip), 0));
    const auto bound = impl_->acceptor.local_endpoint();
    impl_->address = bound.address().to_string() + ":" + std::to_string(bound.port());
    asio::co_spawn(impl_->context, impl_->accept_loop(), report_exception);
    impl_->thread = std::thread([impl = impl_.get()] { impl->context.run(); });
}

FakeMgmt::~FakeMgmt() {
    // Shared: after a timeout the job may still run.
    auto closed = std::make_shared<std::promise<void>>();
    auto done = closed->get_future();
    auto* impl = impl_.get();
    asio::post(impl->context, [impl, closed] {
        error_code ignored;
        impl->acceptor.close(ignored);
        for (const auto& connection : impl->connections) {
            connection->close("fake server stopping");
        }
        // The coroutines hold their connections until they see the close.
        impl->connections.clear();
        closed->set_value();
    });
    done.wait_for(std::chrono::seconds(5));
    impl->guard.reset();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!impl->context.stopped() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    impl->context.stop();
    impl->thread.join();
}

std::string FakeMgmt::address() const {
    return impl_->address;
}

std::vector<FakeSession> FakeMgmt::sessions() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->sessions;
}

std::size_t FakeMgmt::welcomed_sessions() const {
    std::lock_guard lock(impl_->mutex);
    return static_cast<std::size_t>(std::count_if(
        impl_->sessions.begin(), impl_->sessions.end(), [](const FakeSession& s) { return s.welcomed; }));
}

std::size_t FakeMgmt::open_sessions() const {
    std::lock_guard lock(impl_->mutex);
    return static_cast<std::size_t>(
        std::count_if(impl_->sessions.begin(), impl_->sessions.end(), [](const FakeSession& s) {
            return s.welcomed && !s.closed;
        }));
}

bool FakeMgmt::send(std::size_t index, const wire::Message& message, std::chrono::milliseconds timeout) {
    auto frame = wire::encode_frame(wire::encode_message(message));
    if (!frame) {
        return false;
    }
    // Shared: after a timeout the job may still run.
    auto queued = std::make_shared<std::promise<bool>>();
    auto result = queued->get_future();
    auto* impl = impl_.get();
    asio::post(impl->context, [impl, index, frame = std::move(*frame), queued]() mutable {
        if (index >= impl->connections.size()) {
            queued->set_value(false);
            return;
        }
        auto& connection = impl->connections[index];
        if (!connection->welcomed() || connection->is_closed()) {
            queued->set_value(false);
            return;
        }
        connection->queue(std::move(frame));
        queued->set_value(true);
    });
    return result.wait_for(timeout) == std::future_status::ready && result.get();
}

}  // namespace agentlb::test
