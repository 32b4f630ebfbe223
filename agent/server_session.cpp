#include "agent/server_session.hpp"

#include "common/lb/endpoint.hpp"
#include "common/tls/client_tickets.hpp"
#include "common/tls/context.hpp"
#include "common/tls/deadline.hpp"
#include "common/tls/frame_writer.hpp"
#include "common/tls/timeouts.hpp"
#include "common/util/duration_text.hpp"
#include "common/util/exception_text.hpp"
#include "common/wire/frame.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <array>

namespace agentlb::agent {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

// A server that does not read while we keep queueing is not a live server.
constexpr std::size_t kMaxOutbox = 256;

// App messages stop being queued here, well before kMaxOutbox: a burst from
// the local client waits on its socket instead of closing the session.
constexpr std::size_t kAppOutboxRoom = kMaxOutbox / 2;

// One read's worth; the frame intake keeps what a read cut in half.
constexpr std::size_t kReadChunk = 4096;

protocol::TimePoint now() {
    return std::chrono::steady_clock::now();
}

// Logs the exception of a session coroutine (a bug) instead of losing it.
void log_exception(std::exception_ptr ep, const char* what) {
    if (auto text = util::exception_text(ep)) {
        spdlog::error("session {} ended by an exception: {}", what, *text);
    }
}

std::string tls_reason(tls::TlsStream& stream, const error_code& ec) {
    std::string verify = tls::describe_verify_failure(stream.native_handle());
    if (!verify.empty()) {
        return verify;
    }
    if (!stream.last_error_detail().empty()) {
        return stream.last_error_detail();
    }
    return ec.message();
}

}  // namespace

ServerSession::ServerSession(tcp::socket socket,
                             SSL_CTX* context,
                             std::string entry,
                             const SessionTimeouts& timeouts)
    : entry_(std::move(entry)),
      stream_(std::move(socket), context, tls::Role::client, entry_),
      close_deadline_(stream_),
      machine_(Machine::Settings{entry_, timeouts.welcome, timeouts.heartbeat}),
      write_signal_(stream_.get_executor()),
      timer_(stream_.get_executor()),
      retire_timer_(stream_.get_executor()) {
    // Whichever server this is: they all decrypt each other's tickets.
    tls::offer_client_ticket(stream_.native_handle());
}

ServerSession::~ServerSession() = default;

asio::awaitable<DialOutcome> ServerSession::dial(asio::any_io_executor executor,
                                                 std::string entry,
                                                 SSL_CTX* context,
                                                 wire::Hello hello,
                                                 SessionTimeouts timeouts) {
    DialOutcome out;
    auto endpoint = lb::parse_endpoint(entry);
    if (!endpoint) {
        out.reason = endpoint.error();
        co_return out;
    }

    error_code ec;
    tcp::resolver resolver(executor);
    tcp::resolver::results_type addresses;
    {
        tls::Deadline deadline(executor, [&resolver] { resolver.cancel(); });
        deadline.expires_after(timeouts.connect);
        auto token = asio::redirect_error(asio::use_awaitable, ec);
        addresses = co_await resolver.async_resolve(endpoint->host, std::to_string(endpoint->port), token);
        if (ec) {
            out.reason = "cannot resolve " + endpoint->host + ": " +
                         (deadline.expired() ? "timed out after " + util::milliseconds_text(timeouts.connect)
                                             : ec.message());
            co_return out;
        }
    }

    tcp::socket socket(executor);
    {
        tls::Deadline deadline(socket);
        deadline.expires_after(timeouts.connect);
        auto token = asio::redirect_error(asio::use_awaitable, ec);
        co_await asio::async_connect(socket, addresses, token);
        if (ec) {
            out.refused = ec == asio::error::connection_refused;
            out.reason = deadline.expired()
                             ? "TCP connect timed out after " + util::milliseconds_text(timeouts.connect)
                             : "TCP connect: " + ec.message();
            co_return out;
        }
    }

    std::shared_ptr<ServerSession> session;
    try {
        session.reset(new ServerSession(std::move(socket), context, entry, timeouts));
    } catch (const std::invalid_argument& e) {
        out.reason = e.what();
        co_return out;
    }

    // The machine's welcome deadline covers the whole exchange: handshake,
    // hello, welcome. When it passes, the machine closes the session, and the
    // step in progress fails with the machine's reason.
    session->run(session->machine_.start(std::move(hello), now()));
    const auto failed = [&](const std::string& what) {
        return session->closing_ ? session->close_reason_ : what + tls_reason(session->stream_, ec);
    };

    ec = co_await session->stream_.handshake();
    if (ec) {
        out.push_back = session->stream_.push_back();
        out.reason = out.push_back ? "busy: too many handshakes in progress, retry after " +
                                         util::milliseconds_text(out.push_back->retry_after)
                                   : failed("TLS handshake: ");
        co_return out;
    }
    while (!session->outbox_.empty()) {
        const std::string frame = std::move(session->outbox_.front());
        session->outbox_.pop_front();
        ec = co_await session->stream_.write_all(frame.data(), frame.size());
        if (ec) {
            out.reason = failed("sending hello: ");
            co_return out;
        }
    }
    std::array<char, kReadChunk> buffer;
    while (session->machine_.state() == Machine::State::awaiting_welcome) {
        const std::size_t n = co_await session->stream_.read_some(buffer.data(), buffer.size(), ec);
        if (ec) {
            // A server that refuses our certificate says so with an alert here.
            out.reason = failed("waiting for welcome: ");
            co_return out;
        }
        session->run(session->machine_.on_bytes(buffer.data(), n, now()));
    }
    if (session->machine_.state() != Machine::State::established) {
        out.rejected = session->refused_;
        out.code = session->refusal_code_;
        out.reason = session->close_reason_;
        co_return out;
    }
    out.session = std::move(session);
    co_return out;
}

void ServerSession::start(SessionEvents& events) {
    events_ = &events;
    started_ = true;
    auto executor = stream_.get_executor();
    auto self = shared_from_this();
    asio::co_spawn(
        executor,
        [self] { return self->read_loop(); },
        [](std::exception_ptr ep) { log_exception(ep, "reader"); });
    asio::co_spawn(
        executor,
        [self] { return self->write_loop(); },
        [](std::exception_ptr ep) { log_exception(ep, "writer"); });
}

void ServerSession::run(Machine::Actions actions) {
    for (auto& action : actions) {
        run_one(action);
    }
    arm_timer();
}

void ServerSession::run_one(Machine::Action& action) {
    if (auto* send = std::get_if<Machine::Send>(&action)) {
        queue(send->message);
    } else if (auto* welcomed = std::get_if<Machine::Welcomed>(&action)) {
        welcome_ = std::move(welcomed->welcome);
    } else if (auto* error = std::get_if<Machine::ServerError>(&action)) {
        spdlog::warn("[{}] server error {}", entry_, error->detail);
    } else if (auto* refused = std::get_if<Machine::Refused>(&action)) {
        refused_ = true;  // the Close that follows says why
        refusal_code_ = refused->code;
    } else if (auto* ignored = std::get_if<Machine::Ignored>(&action)) {
        spdlog::debug("[{}] ignoring {}", entry_, ignored->detail);
    } else if (auto* close = std::get_if<Machine::Close>(&action)) {
        if (close->flush_first) {
            shut_gracefully(close->detail);
        } else {
            abort(close->detail);
        }
    } else if (events_ == nullptr) {
        held_.push_back(std::move(action));  // for the Agent, once it starts the session
    } else if (auto* persist = std::get_if<Machine::Persist>(&action)) {
        events_->on_list(shared_from_this(), persist->list);
    } else if (auto* migrate = std::get_if<Machine::Migrate>(&action)) {
        events_->on_migrate(shared_from_this(), *migrate);
    } else if (auto* certificate = std::get_if<Machine::CertificateReceived>(&action)) {
        events_->on_certificate(shared_from_this(), certificate->certificate);
    } else if (auto* trust = std::get_if<Machine::TrustReceived>(&action)) {
        events_->on_trust(shared_from_this(), trust->trust);
    } else if (std::holds_alternative<Machine::ReissueRequested>(action)) {
        events_->on_reissue(shared_from_this());
    } else if (auto* app = std::get_if<Machine::AppReceived>(&action)) {
        events_->on_app(shared_from_this(), app->app);
    }
}

void ServerSession::arm_timer() {
    timer_.arm(machine_.deadline(), [weak = weak_from_this()] {
        if (auto self = weak.lock()) {
            self->run(self->machine_.on_timer(now()));
        }
    });
}

void ServerSession::on_persisted(std::int64_t seq, bool stored) {
    run(machine_.on_persisted(seq, stored, now()));
}

void ServerSession::renew(std::string csr) {
    run(machine_.renew(std::move(csr)));
}

bool ServerSession::app_ready() const {
    return !closing_ && started_ && machine_.state() == Machine::State::established && machine_.takes_app() &&
           outbox_.size() < kAppOutboxRoom;
}

void ServerSession::send_app(wire::App app) {
    if (app_ready()) {
        run(machine_.send_app(std::move(app)));
    }
}

void ServerSession::queue(const wire::Message& message) {
    if (closing_) {
        return;
    }
    auto frame = wire::encode_frame(wire::encode_message(message));
    if (!frame) {
        spdlog::error("[{}] cannot send {}: {}", entry_, wire::message_type(message), frame.error());
        return;
    }
    if (outbox_.size() >= kMaxOutbox) {
        run(machine_.close("the server does not read (send queue full)", false));
        return;
    }
    outbox_.push_back(std::move(*frame));
    write_signal_.cancel_one();
}

void ServerSession::retire(std::chrono::milliseconds grace, const std::string& reason) {
    if (closing_) {
        return;
    }
    retire_timer_.expires_after(grace);
    retire_timer_.async_wait([self = shared_from_this(), reason](const error_code& ec) {
        if (!ec) {
            self->close(reason);
        }
    });
}

void ServerSession::close(const std::string& reason) {
    run(machine_.close(reason, true));
}

void ServerSession::shut_gracefully(const std::string& reason) {
    if (closing_) {
        return;
    }
    closing_ = true;
    close_reason_ = reason;
    timer_.cancel();
    retire_timer_.cancel();
    if (!started_) {
        stream_.close();
        return;
    }
    // The writer sends close_notify; this bounds it if the server stopped reading.
    close_deadline_.expires_after(tls::kShutdownTimeout + std::chrono::seconds(1));
    write_signal_.cancel();
}

void ServerSession::abort(const std::string& reason) {
    if (close_reason_.empty()) {
        close_reason_ = reason;
    }
    closing_ = true;
    stream_.close();
    timer_.cancel();
    retire_timer_.cancel();
    write_signal_.cancel();
}

asio::awaitable<void> ServerSession::read_loop() {
    auto self = shared_from_this();
    // What came with welcome (its correction first), in order.
    auto held = std::move(held_);
    held_.clear();
    for (auto& action : held) {
        run_one(action);
    }
    std::array<char, kReadChunk> buffer;
    while (!closing_) {
        error_code ec;
        const std::size_t n = co_await stream_.read_some(buffer.data(), buffer.size(), ec);
        if (ec) {
            if (closing_) {
                break;
            }
            if (ec == asio::error::eof) {
                run(machine_.close("the server closed the connection", false));
            } else {
                run(machine_.close("read failed: " + tls_reason(stream_, ec), false));
            }
            break;
        }
        run(machine_.on_bytes(buffer.data(), n, now()));
    }
    // Wait for nothing else: the writer finishes the close on its own.
    events_->on_closed(self, close_reason_);
}

asio::awaitable<void> ServerSession::write_loop() {
    auto self = shared_from_this();
    // Room again for app messages: the local client may send more.
    const auto after_write = [this] {
        if (outbox_.size() < kAppOutboxRoom && events_ != nullptr && machine_.takes_app()) {
            events_->on_app_room(shared_from_this());
        }
    };
    const error_code ec =
        co_await tls::write_queued_frames(stream_, outbox_, write_signal_, closing_, after_write);
    if (ec && !closing_) {
        run(machine_.close("write failed: " + tls_reason(stream_, ec), false));
    }
    // Only the writer touches the outgoing side, so close_notify goes from here.
    if (stream_.is_open()) {
        co_await stream_.shutdown();
    }
    close_deadline_.cancel();
    stream_.close();
}

}  // namespace agentlb::agent
