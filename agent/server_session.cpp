#include "agent/server_session.hpp"

#include "agent/printable.hpp"
#include "agent/server_message.hpp"
#include "common/lb/endpoint.hpp"
#include "common/tls/context.hpp"
#include "common/tls/deadline.hpp"
#include "common/tls/frame_writer.hpp"
#include "common/tls/message_reader.hpp"
#include "common/tls/timeouts.hpp"
#include "common/util/exception_text.hpp"
#include "common/wire/error.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace agentlb::agent {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

// A server that does not read while we keep queueing is not a live server.
constexpr std::size_t kMaxOutbox = 256;

std::string ms(std::chrono::milliseconds d) {
    return std::to_string(d.count()) + " ms";
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

ServerSession::ServerSession(tcp::socket socket, SSL_CTX* context, std::string entry)
    : entry_(std::move(entry)),
      stream_(std::move(socket), context, tls::Role::client, entry_),
      close_deadline_(stream_),
      write_signal_(stream_.get_executor()),
      heartbeat_timer_(stream_.get_executor()),
      retire_timer_(stream_.get_executor()) {}

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
                         (deadline.expired() ? "timed out after " + ms(timeouts.connect) : ec.message());
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
            out.reason = deadline.expired() ? "TCP connect timed out after " + ms(timeouts.connect)
                                            : "TCP connect: " + ec.message();
            co_return out;
        }
    }

    std::shared_ptr<ServerSession> session;
    try {
        session.reset(new ServerSession(std::move(socket), context, entry));
    } catch (const std::invalid_argument& e) {
        out.reason = e.what();
        co_return out;
    }

    // One deadline for the whole exchange: handshake, hello, welcome.
    tls::Deadline deadline(session->stream_);
    deadline.expires_after(timeouts.welcome);
    const auto late = [&] { return "no welcome within " + ms(timeouts.welcome); };

    ec = co_await session->stream_.handshake();
    if (ec) {
        out.reason = deadline.expired() ? late() : "TLS handshake: " + tls_reason(session->stream_, ec);
        co_return out;
    }

    auto frame = wire::encode_frame(wire::encode_message(hello));
    if (!frame) {
        out.reason = "cannot encode hello: " + frame.error();
        co_return out;
    }
    ec = co_await session->stream_.write_all(frame->data(), frame->size());
    if (ec) {
        out.reason = deadline.expired() ? late() : "sending hello: " + tls_reason(session->stream_, ec);
        co_return out;
    }

    wire::Message message;
    std::string detail;
    ec = co_await tls::read_message(session->stream_, session->decoder_, message, detail);
    if (ec) {
        if (deadline.expired()) {
            out.reason = late();
        } else if (ec.category() == wire::wire_category()) {
            out.reason = "protocol error before welcome: " + detail;
        } else {
            // A server that refuses our certificate says so with an alert here.
            out.reason = "waiting for welcome: " + tls_reason(session->stream_, ec);
        }
        co_return out;
    }
    if (auto* welcome = std::get_if<wire::Welcome>(&message)) {
        if (auto bad = out_of_range(*welcome); !bad.empty()) {
            // Nothing of it is used: the list the agent holds stays.
            out.reason = "protocol error in welcome: " + bad;
            co_return out;
        }
        deadline.cancel();
        session->welcome_ = *welcome;
        session->heartbeat_interval_ = heartbeat_from_welcome(*welcome, timeouts.heartbeat);
        out.session = std::move(session);
        co_return out;
    }
    if (auto* error = std::get_if<wire::Error>(&message)) {
        out.rejected = true;
        out.reason = "refused by the server: " + describe_server_error(*error);
        co_return out;
    }
    out.reason = "expected welcome, got " + std::string(wire::message_type(message));
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
    asio::co_spawn(
        executor,
        [self] { return self->heartbeat_loop(); },
        [](std::exception_ptr ep) { log_exception(ep, "heartbeat"); });
}

void ServerSession::send(const wire::Message& message) {
    if (closing_) {
        return;
    }
    auto frame = wire::encode_frame(wire::encode_message(message));
    if (!frame) {
        spdlog::error("[{}] cannot send {}: {}", entry_, wire::message_type(message), frame.error());
        return;
    }
    if (outbox_.size() >= kMaxOutbox) {
        abort("the server does not read (send queue full)");
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
    if (closing_) {
        return;
    }
    closing_ = true;
    close_reason_ = reason;
    heartbeat_timer_.cancel();
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
    heartbeat_timer_.cancel();
    retire_timer_.cancel();
    write_signal_.cancel();
}

asio::awaitable<void> ServerSession::read_loop() {
    auto self = shared_from_this();
    if (welcome_.correction) {
        events_->on_list(self, *welcome_.correction);
    }
    while (!closing_) {
        wire::Message message;
        std::string detail;
        const error_code ec = co_await tls::read_message(stream_, decoder_, message, detail);
        if (ec) {
            if (closing_) {
                break;
            }
            if (ec == asio::error::eof) {
                abort("the server closed the connection");
            } else if (ec.category() == wire::wire_category()) {
                abort("protocol error: " + detail);
            } else {
                abort("read failed: " + tls_reason(stream_, ec));
            }
            break;
        }
        dispatch(message);
    }
    // Wait for nothing else: the writer finishes the close on its own.
    events_->on_closed(self, close_reason_);
}

void ServerSession::dispatch(const wire::Message& message) {
    auto self = shared_from_this();
    switch (classify_server_message(message)) {
    case ServerMessageAction::note_pong:
        last_pong_ = answered_pings(last_pong_, pings_sent_, std::get<wire::Pong>(message));
        break;
    case ServerMessageAction::answer_ping:
        send(wire::Pong{std::get<wire::Ping>(message).seq});
        break;
    case ServerMessageAction::apply_list: {
        const auto& list = std::get<wire::MsList>(message);
        if (auto bad = out_of_range(list); !bad.empty()) {
            abort("protocol error: ms_list (seq " + std::to_string(list.seq) + "): " + bad);
            return;
        }
        events_->on_list(self, list);
        break;
    }
    case ServerMessageAction::migrate:
        events_->on_migrate(self, std::get<wire::Migrate>(message));
        break;
    case ServerMessageAction::check_certificate:
        events_->on_certificate(self, std::get<wire::Certificate>(message));
        break;
    case ServerMessageAction::log_error:
        spdlog::warn("[{}] server error {}", entry_, describe_server_error(std::get<wire::Error>(message)));
        break;
    case ServerMessageAction::ignore:
        spdlog::debug("[{}] ignoring a second welcome", entry_);
        break;
    case ServerMessageAction::abort:
        abort("unexpected " + std::string(wire::message_type(message)) + " from the server");
        break;
    }
}

asio::awaitable<void> ServerSession::write_loop() {
    auto self = shared_from_this();
    const error_code ec = co_await tls::write_queued_frames(stream_, outbox_, write_signal_, closing_);
    if (ec && !closing_) {
        abort("write failed: " + tls_reason(stream_, ec));
    }
    // Only the writer touches the outgoing side, so close_notify goes from here.
    if (stream_.is_open()) {
        co_await stream_.shutdown();
    }
    close_deadline_.cancel();
    stream_.close();
}

asio::awaitable<void> ServerSession::heartbeat_loop() {
    auto self = shared_from_this();
    while (!closing_) {
        error_code ec;
        heartbeat_timer_.expires_after(heartbeat_interval_);
        auto token = asio::redirect_error(asio::use_awaitable, ec);
        co_await heartbeat_timer_.async_wait(token);
        if (closing_) {
            break;
        }
        if (pings_sent_ - last_pong_ >= tls::kMissedHeartbeatsBeforeDead) {
            abort("no pong for " + std::to_string(tls::kMissedHeartbeatsBeforeDead) + " heartbeats");
            break;
        }
        send(wire::Ping{++pings_sent_});
    }
}

}  // namespace agentlb::agent
