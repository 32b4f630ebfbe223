#include "tools/bench/sim_agent.hpp"

#include "common/tls/deadline.hpp"
#include "common/tls/timeouts.hpp"
#include "tools/bench/fleet.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <netinet/in.h>
#include <random>

namespace agentlb::bench {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

// One read buffer for the whole worker: a session touches it only once data is there.
std::array<char, 16 * 1024>& read_buffer() {
    static std::array<char, 16 * 1024> buffer;
    return buffer;
}

std::string short_reason(const error_code& ec, const std::string& detail) {
    std::string text = detail.empty() ? ec.message() : detail;
    if (text.size() > 80) {
        text.resize(80);
    }
    return text;
}

std::chrono::milliseconds backoff(int pass) {
    static thread_local std::mt19937 random{std::random_device{}()};
    const double base = std::min(60.0, 1.0 * (1 << std::min(pass, 6)));
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    return std::chrono::milliseconds(static_cast<long>(base * jitter(random) * 1000));
}

}  // namespace

SimAgent::SimAgent(
    Fleet& fleet, std::size_t global_index, std::string name, std::int64_t host_id, X509Handle cert)
    : fleet_(fleet),
      global_index_(global_index),
      name_(std::move(name)),
      host_id_(host_id),
      cert_(std::move(cert)) {}

void SimAgent::set_held(std::vector<int> servers, std::string algorithm, std::int64_t interval) {
    held_ = std::move(servers);
    algorithm_ = std::move(algorithm);
    interval_ = interval;
}

std::string SimAgent::held_text() const {
    if (held_.empty()) {
        return {};
    }
    std::string text;
    for (int index : held_) {
        if (!text.empty()) {
            text += ',';
        }
        text += fleet_.servers()[static_cast<std::size_t>(index)].address;
    }
    return text + "@" + algorithm_;
}

void SimAgent::apply_list(const wire::MsList& list) {
    std::vector<int> servers;
    for (const auto& entry : list.list) {
        const int index = fleet_.server_index(entry);
        if (index >= 0) {
            servers.push_back(index);
        }
    }
    held_ = std::move(servers);
    algorithm_ = list.algorithm;
    interval_ = list.interval;
}

int SimAgent::next_candidate(int& position) const {
    if (held_.empty()) {
        return -1;
    }
    ++position;
    if (position >= static_cast<int>(held_.size())) {
        return -1;
    }
    return held_[static_cast<std::size_t>(position)];
}

void SimAgent::park() {
    parked_ = true;
    if (stream_) {
        stream_->close();
    }
}

asio::awaitable<void> SimAgent::live(int target) {
    running_ = true;
    parked_ = false;
    bool initial = true;
    int position = -1;  // where `target` is in held_, when it came from there
    int pass = 0;
    const int first_target = target;
    while (!fleet_.stopping() && !parked_) {
        Attempt result = co_await attempt(target);
        result.initial = initial;
        fleet_.on_attempt(result);
        if (result.established) {
            initial = false;
            pass = 0;
            if (lost_ns != 0 && back_ns == 0) {
                back_ns = result.welcomed_ns;
            }
            co_await serve(stream_);
            server_ = -1;
            if (parked_ || fleet_.stopping()) {
                break;
            }
            fleet_.on_lost(*this);
            if (lost_ns == 0) {
                lost_ns = steady_ns();
            }
            position = -1;
        } else if (initial) {
            break;  // the phase counts the failure; an initial failure is not retried
        }
        target = next_candidate(position);
        if (target < 0) {
            // A full pass failed (or there is no list): back off, then start over.
            if (!result.established) {
                asio::steady_timer pause(fleet_.io(), backoff(pass++));
                error_code ignored;
                auto token = asio::redirect_error(asio::use_awaitable, ignored);
                co_await pause.async_wait(token);
            }
            position = 0;
            target = held_.empty() ? first_target : held_.front();
        }
    }
    server_ = -1;
    running_ = false;
}

asio::awaitable<Attempt> SimAgent::attempt(int target) {
    Attempt result;
    result.started_ns = steady_ns();
    const ServerTarget& server = fleet_.servers()[static_cast<std::size_t>(target)];
    tcp::socket socket(fleet_.io());
    error_code ec;
    socket.open(tcp::v4(), ec);
    if (ec) {
        result.failure = "socket: " + ec.message();
        co_return result;
    }
    // Many agents share a source address: let connect() pick the port per
    // destination instead of reserving one at bind().
    const int one = 1;
    ::setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    socket.bind(tcp::endpoint(fleet_.source_address(global_index_), 0), ec);
    if (ec) {
        result.failure = "bind: " + ec.message();
        co_return result;
    }
    {
        tls::Deadline connect_deadline(socket);
        connect_deadline.expires_after(tls::kHandshakeTimeout);
        auto token = asio::redirect_error(asio::use_awaitable, ec);
        co_await socket.async_connect(server.endpoint, token);
        if (ec) {
            result.failure = connect_deadline.expired() ? "connect: timeout" : "connect: " + ec.message();
            co_return result;
        }
    }
    auto stream = std::make_shared<tls::TlsStream>(
        std::move(socket), fleet_.ssl_context(), tls::Role::client, server.address);
    SSL* ssl = stream->native_handle();
    // One client context for every agent: each session carries its own certificate.
    if (SSL_use_certificate(ssl, cert_.get()) != 1) {
        result.failure = "own certificate refused by OpenSSL";
        co_return result;
    }
    if (ticket_ && ticket_server_ == target) {
        SSL_set_session(ssl, ticket_.get());
    }
    stream_ = stream;
    if (parked_) {
        stream->close();
    }
    tls::Deadline deadline(*stream);
    deadline.expires_after(tls::kHandshakeTimeout);
    ec = co_await stream->handshake();
    if (ec) {
        result.failure =
            deadline.expired() ? "tls: timeout" : "tls: " + short_reason(ec, stream->last_error_detail());
        co_return result;
    }
    const auto hello_frame = wire::encode_frame(
        wire::encode_message(wire::Hello{name_, "default", held_text(), interval_, "bench"}));
    ec = co_await stream->write_all(hello_frame->data(), hello_frame->size());
    if (ec) {
        result.failure = "hello: " + short_reason(ec, stream->last_error_detail());
        co_return result;
    }
    decoder_ = wire::FrameDecoder();
    auto& buffer = read_buffer();
    for (;;) {
        auto payload = decoder_.next(ec);
        if (ec) {
            result.failure = "bad frame: " + ec.message();
            co_return result;
        }
        if (!payload) {
            const std::size_t n = co_await stream->read_some(buffer.data(), buffer.size(), ec);
            if (ec) {
                result.failure = deadline.expired() ? "welcome: timeout"
                                                    : "closed before welcome: " +
                                                          short_reason(ec, stream->last_error_detail());
                co_return result;
            }
            decoder_.feed(buffer.data(), n);
            continue;
        }
        wire::Message message;
        std::string detail;
        ec = wire::decode_message(*payload, message, detail);
        if (ec) {
            result.failure = "bad message: " + ec.message();
            co_return result;
        }
        if (const auto* error = std::get_if<wire::Error>(&message)) {
            result.failure = "refused: " + error->code;
            co_return result;
        }
        if (const auto* welcome = std::get_if<wire::Welcome>(&message)) {
            deadline.cancel();
            result.established = true;
            result.resumed = stream->resumed();
            result.welcomed_ns = steady_ns();
            server_ = target;
            ++session_;
            out_.clear();
            writing_ = false;
            fleet_.on_welcome(welcome->heartbeat_interval);
            // The ticket came before welcome (the server sends it right after
            // the handshake). A copy: OpenSSL marks the session of an SSL freed
            // without close_notify (a lost connection) as not resumable.
            SslSessionPtr ticket(SSL_get1_session(ssl));
            if (ticket && SSL_SESSION_is_resumable(ticket.get()) == 1) {
                ticket_.reset(SSL_SESSION_dup(ticket.get()));
                ticket_server_ = ticket_ ? target : -1;
            }
            if (welcome->correction) {
                apply_list(*welcome->correction);
                send(wire::Ack{welcome->correction->seq});
            }
            co_return result;
        }
        // Anything before welcome (there should be nothing) is ignored.
    }
}

asio::awaitable<void> SimAgent::serve(std::shared_ptr<tls::TlsStream> stream) {
    auto& buffer = read_buffer();
    error_code ec;
    // Frames that arrived together with welcome.
    for (;;) {
        while (auto payload = decoder_.next(ec)) {
            wire::Message message;
            std::string detail;
            if (wire::decode_message(*payload, message, detail)) {
                stream->close();
                co_return;
            }
            handle(message, *stream);
        }
        if (ec || !stream->is_open()) {
            stream->close();
            co_return;
        }
        const std::size_t n = co_await stream->read_some(buffer.data(), buffer.size(), ec);
        if (ec) {
            stream->close();
            co_return;
        }
        decoder_.feed(buffer.data(), n);
    }
}

void SimAgent::handle(const wire::Message& message, tls::TlsStream& stream) {
    if (const auto* list = std::get_if<wire::MsList>(&message)) {
        if (push_ns == 0) {
            push_ns = steady_ns();
        }
        apply_list(*list);
        // The real agent persists the list first; the bench holds it in memory.
        send(wire::Ack{list->seq});
    } else if (const auto* pong = std::get_if<wire::Pong>(&message)) {
        fleet_.on_pong((steady_ns() / 1000) - pong->seq);
    } else if (const auto* ping = std::get_if<wire::Ping>(&message)) {
        send(wire::Pong{ping->seq});
    } else if (std::holds_alternative<wire::Migrate>(message) ||
               std::holds_alternative<wire::Error>(message)) {
        stream.close();
    }
}

void SimAgent::send_ping(std::int64_t now_ns) {
    if (server_ < 0) {
        return;
    }
    send(wire::Ping{now_ns / 1000});
}

void SimAgent::send(const wire::Message& message) {
    if (!stream_ || server_ < 0) {
        return;
    }
    auto frame = wire::encode_frame(wire::encode_message(message));
    if (!frame) {
        return;
    }
    out_ += *frame;
    if (!writing_) {
        writing_ = true;
        asio::co_spawn(fleet_.io(), writer(stream_, session_), asio::detached);
    }
}

asio::awaitable<void> SimAgent::writer(std::shared_ptr<tls::TlsStream> stream, std::uint64_t session) {
    while (session == session_ && !out_.empty()) {
        std::string chunk;
        chunk.swap(out_);
        const error_code ec = co_await stream->write_all(chunk.data(), chunk.size());
        if (ec) {
            stream->close();
            break;
        }
    }
    if (session == session_) {
        writing_ = false;
    }
}

}  // namespace agentlb::bench
