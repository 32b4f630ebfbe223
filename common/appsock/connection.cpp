#include "common/appsock/connection.hpp"

#include "common/util/exception_text.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <spdlog/spdlog.h>

#include <array>
#include <chrono>

namespace agentlb::appsock {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr std::size_t kAppReadChunk = 64 * 1024;
constexpr std::size_t kWriteBatchBytes = 64 * 1024;

void log_app_exception(std::exception_ptr ep) {
    if (auto text = util::exception_text(ep)) {
        spdlog::error("app socket connection ended by an exception: {}", *text);
    }
}

}  // namespace

AppConnection::AppConnection(Socket socket, AppHandler& handler, std::uint64_t id)
    : socket_(std::move(socket)),
      handler_(handler),
      id_(id),
      write_signal_(socket_.get_executor()),
      resume_signal_(socket_.get_executor()) {}

void AppConnection::start() {
    auto self = shared_from_this();
    asio::co_spawn(
        socket_.get_executor(), [self] { return self->read_loop(); }, log_app_exception);
    asio::co_spawn(
        socket_.get_executor(), [self] { return self->write_loop(); }, log_app_exception);
}

bool AppConnection::send(const client::Frame& frame) {
    if (closing_) {
        return false;
    }
    std::string bytes;
    std::string error;
    if (!client::encode_frame(frame, bytes, error)) {
        spdlog::error("app socket: not sending a {} frame: {}", client::kind_name(frame.kind), error);
        return false;
    }
    if (queued_bytes_ + bytes.size() > kMaxQueuedBytes) {
        // Whoever sent these sends them again (a message until acknowledged,
        // an ack and an undeliverable with its repeat): dropped, the caller counts.
        if (frame.kind == client::FrameKind::message || frame.kind == client::FrameKind::ack ||
            frame.kind == client::FrameKind::undeliverable) {
            return false;
        }
        close("the client does not read (" + std::to_string(queued_bytes_) + " bytes queued)");
        return false;
    }
    queued_bytes_ += bytes.size();
    outbox_.push_back(std::move(bytes));
    write_signal_.cancel_one();
    return true;
}

void AppConnection::refuse(const std::string& reason) {
    if (closing_) {
        return;
    }
    std::string bytes;
    std::string error;
    client::Frame frame;
    frame.kind = client::FrameKind::error;
    frame.payload = reason.substr(0, client::kMaxPayload);
    if (client::encode_frame(frame, bytes, error)) {
        queued_bytes_ += bytes.size();
        outbox_.push_back(std::move(bytes));
    }
    flush_then_close_ = true;
    closing_ = true;
    reason_ = reason;
    write_signal_.cancel();
    resume_signal_.cancel();
}

void AppConnection::close(const std::string& reason) {
    if (reason_.empty()) {
        reason_ = reason;
    }
    closing_ = true;
    flush_then_close_ = false;
    error_code ignored;
    socket_.close(ignored);
    write_signal_.cancel();
    resume_signal_.cancel();
}

void AppConnection::resume() {
    resume_signal_.cancel();
}

void AppConnection::finish(const std::string& reason) {
    if (closed_reported_) {
        return;
    }
    closed_reported_ = true;
    handler_.on_closed(*this, reason_.empty() ? reason : reason_);
}

asio::awaitable<void> AppConnection::read_loop() {
    auto self = shared_from_this();
    std::array<char, kAppReadChunk> buffer;
    std::string end = "the client closed the connection";
    while (!closing_) {
        // Frames already read go first, each when the handler can take it.
        while (!closing_) {
            if (!handler_.ready(*this)) {
                error_code ignored;
                resume_signal_.expires_at(std::chrono::steady_clock::time_point::max());
                co_await resume_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
                continue;
            }
            auto frame = reader_.next();
            if (!frame) {
                break;
            }
            handler_.on_frame(*this, std::move(*frame));
        }
        if (closing_) {
            break;
        }
        if (reader_.failed()) {
            refuse(reader_.error());
            break;
        }
        error_code ec;
        const std::size_t n = co_await socket_.async_read_some(asio::buffer(buffer),
                                                               asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            if (ec != asio::error::eof) {
                end = "read failed: " + ec.message();
            }
            close(end);
            break;
        }
        reader_.feed(buffer.data(), n);
    }
    finish(end);
}

asio::awaitable<void> AppConnection::write_loop() {
    auto self = shared_from_this();
    while (socket_.is_open()) {
        if (outbox_.empty()) {
            if (closing_) {
                break;
            }
            error_code ignored;
            write_signal_.expires_at(std::chrono::steady_clock::time_point::max());
            co_await write_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
            continue;
        }
        if (closing_ && !flush_then_close_) {
            break;
        }
        // Everything queued goes in one write: one system call for a burst
        // of frames instead of one each.
        std::string bytes = std::move(outbox_.front());
        outbox_.pop_front();
        while (!outbox_.empty() && bytes.size() + outbox_.front().size() <= kWriteBatchBytes) {
            bytes += outbox_.front();
            outbox_.pop_front();
        }
        queued_bytes_ -= bytes.size();
        error_code ec;
        co_await asio::async_write(
            socket_, asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            close("write failed: " + ec.message());
            break;
        }
    }
    error_code ignored;
    socket_.shutdown(Socket::shutdown_both, ignored);
    socket_.close(ignored);
}

bool greet(AppConnection& connection, const client::Frame& frame, const std::string& own_name) {
    if (frame.kind != client::FrameKind::hello) {
        connection.refuse("the first frame must be hello, not " + std::string(client::kind_name(frame.kind)));
        return false;
    }
    connection.greeted = true;
    connection.name = frame.peer;
    connection.epoch = frame.epoch;
    client::Frame welcome;
    welcome.kind = client::FrameKind::welcome;
    welcome.peer = own_name;
    connection.send(welcome);
    return true;
}

bool takes_stream_frame(AppConnection& connection, const client::Frame& frame) {
    if (frame.kind == client::FrameKind::message || frame.kind == client::FrameKind::ack) {
        return true;
    }
    connection.refuse("after hello a client sends message and ack frames only, not " +
                      std::string(client::kind_name(frame.kind)));
    return false;
}

asio::awaitable<void> accept_clients(Acceptor& acceptor,
                                     const std::filesystem::path& path,
                                     const bool& stopped,
                                     std::function<void(Socket)> on_client) {
    while (!stopped) {
        error_code ec;
        Socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            if (stopped) {
                break;
            }
            spdlog::warn("app socket {}: accept failed: {}", path.string(), ec.message());
            continue;
        }
        on_client(std::move(socket));
    }
}

}  // namespace agentlb::appsock
