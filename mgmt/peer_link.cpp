#include "mgmt/peer_link.hpp"

#include "certs/inspect.hpp"
#include "common/lb/endpoint.hpp"
#include "common/tls/context.hpp"
#include "common/tls/deadline.hpp"
#include "common/tls/frame_writer.hpp"
#include "common/tls/message_reader.hpp"
#include "common/util/exception_text.hpp"
#include "common/util/text.hpp"
#include "common/wire/frame.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <utility>

namespace agentlb::mgmt {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// A server that vanished (powered off, cut off) must not keep a link that
// swallows relays until TCP gives up after many minutes: data left
// unacknowledged fails the link after kUnacknowledgedLimitMs, and an idle
// link is probed (TCP keepalive). Best effort: where an option is missing,
// TCP's default stays.
constexpr int kUnacknowledgedLimitMs = 10'000;
constexpr int kIdleBeforeProbeSeconds = 10;
constexpr int kProbeIntervalSeconds = 5;
constexpr int kProbes = 3;

void watch_for_a_dead_peer(asio::ip::tcp::socket& socket) {
    const int fd = socket.native_handle();
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &kIdleBeforeProbeSeconds, sizeof kIdleBeforeProbeSeconds);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &kProbeIntervalSeconds, sizeof kProbeIntervalSeconds);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &kProbes, sizeof kProbes);
    ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &kUnacknowledgedLimitMs, sizeof kUnacknowledgedLimitMs);
}

tls::SslCtxPtr hold(SSL_CTX* context) {
    SSL_CTX_up_ref(context);
    return tls::SslCtxPtr(context);
}

}  // namespace

PeerLink::PeerLink(asio::ip::tcp::socket socket, SSL_CTX* context, PeerLinkHandler& handler, std::uint64_t id)
    : executor_(socket.get_executor()),
      accepted_(std::move(socket)),
      context_(hold(context)),
      handler_(handler),
      id_(id),
      dialled_(false),
      write_signal_(executor_) {}

PeerLink::PeerLink(asio::any_io_executor executor,
                   SSL_CTX* context,
                   std::string server,
                   std::string address,
                   PeerLinkHandler& handler,
                   std::uint64_t id)
    : executor_(std::move(executor)),
      context_(hold(context)),
      server_(std::move(server)),
      address_(std::move(address)),
      handler_(handler),
      id_(id),
      dialled_(true),
      write_signal_(executor_) {}

void PeerLink::start() {
    asio::co_spawn(
        executor_,
        [self = shared_from_this()] { return self->run(); },
        [](std::exception_ptr ep) {
            if (auto text = util::exception_text(ep)) {
                spdlog::error("peer link: ended by an exception: {}", *text);
            }
        });
}

bool PeerLink::send(const wire::Relay& relay) {
    if (closing_) {
        return false;
    }
    if (outbox_.size() >= kMaxQueuedFrames) {
        room_wanted_ = true;
        return false;
    }
    auto frame = wire::encode_frame(wire::encode_message(relay));
    if (!frame) {
        return false;  // cannot happen for a valid relay: a payload fits a frame
    }
    outbox_.push_back(std::move(frame).value());
    write_signal_.cancel();
    return true;
}

void PeerLink::close(const std::string& reason) {
    if (closing_) {
        return;
    }
    closing_ = true;
    outbox_.clear();
    write_signal_.cancel();
    if (stream_) {
        stream_->close();
    } else if (accepted_) {
        error_code ignored;
        accepted_->close(ignored);
    }
    handler_.on_link_closed(*this, reason);
}

asio::awaitable<std::string> PeerLink::connect() {
    auto endpoint = lb::parse_endpoint(address_);
    if (!endpoint) {
        co_return "peer address '" + address_ + "': " + endpoint.error();
    }
    error_code ec;
    asio::ip::tcp::resolver resolver(executor_);
    auto found = co_await resolver.async_resolve(
        endpoint->host, std::to_string(endpoint->port), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        co_return "cannot resolve " + endpoint->host + ": " + ec.message();
    }
    asio::ip::tcp::socket socket(executor_);
    tls::Deadline deadline(socket);
    deadline.expires_after(kHandshakeTimeout);
    co_await asio::async_connect(socket, found, asio::redirect_error(asio::use_awaitable, ec));
    deadline.cancel();
    if (closing_) {
        co_return "closed while connecting";
    }
    if (ec) {
        co_return "cannot connect to " + address_ + ": " + ec.message();
    }
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    watch_for_a_dead_peer(socket);
    stream_ =
        std::make_unique<tls::TlsStream>(std::move(socket), context_.get(), tls::Role::client, address_);
    co_return "";
}

asio::awaitable<std::string> PeerLink::shake_hands() {
    tls::Deadline deadline(*stream_);
    deadline.expires_after(kHandshakeTimeout);
    const error_code ec = co_await stream_->handshake();
    deadline.cancel();
    if (ec) {
        const std::string detail = tls::describe_verify_failure(stream_->native_handle());
        co_return "TLS handshake: " + (detail.empty() ? ec.message() : detail);
    }
    auto certificate = tls::peer_certificate(stream_->native_handle());
    const std::string name = certificate ? certs::common_name_of(certificate.get()) : "";
    if (!dialled_) {
        server_ = name;
    } else if (name != server_) {
        co_return "the server at " + address_ + " is " + util::peer_text(name, 64, util::Quoted::yes) +
            ", not '" + server_ + "'";
    }
    co_return "";
}

asio::awaitable<void> PeerLink::run() {
    auto self = shared_from_this();
    if (dialled_) {
        if (auto problem = co_await connect(); !problem.empty()) {
            close(problem);
            co_return;
        }
    } else {
        error_code ignored;
        accepted_->set_option(asio::ip::tcp::no_delay(true), ignored);
        watch_for_a_dead_peer(*accepted_);
        stream_ = std::make_unique<tls::TlsStream>(std::move(*accepted_), context_.get(), tls::Role::server);
        accepted_.reset();
    }
    if (auto problem = co_await shake_hands(); !problem.empty() || closing_) {
        close(problem.empty() ? "closed during the handshake" : problem);
        co_return;
    }
    spdlog::info("peer link {} server {}{}",
                 dialled_ ? "to" : "from",
                 server_,
                 dialled_ ? " at " + address_ : std::string());
    asio::co_spawn(
        executor_, [self] { return self->write_loop(); }, asio::detached);
    while (!closing_) {
        wire::Message message;
        std::string detail;
        const error_code ec = co_await tls::read_message(*stream_, intake_, message, detail);
        if (closing_) {
            break;
        }
        if (ec) {
            close(detail.empty() ? ec.message() : detail);
            break;
        }
        auto* relay = std::get_if<wire::Relay>(&message);
        if (relay == nullptr) {
            close("unexpected message '" + std::string(wire::message_type(message)) + "' on the peer link");
            break;
        }
        handler_.on_relay(self, std::move(*relay));
    }
}

asio::awaitable<void> PeerLink::write_loop() {
    auto self = shared_from_this();
    const error_code ec =
        co_await tls::write_queued_frames(*stream_, outbox_, write_signal_, closing_, [this] {
            if (room_wanted_ && outbox_.size() <= kMaxQueuedFrames / 2) {
                room_wanted_ = false;
                handler_.on_link_room(*this);
            }
        });
    if (ec && !closing_) {
        close("write: " + ec.message());
    }
}

}  // namespace agentlb::mgmt
