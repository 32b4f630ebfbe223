#pragma once

// One TLS connection of the peer link between two management servers (issue
// 19), either end: `relay` messages both ways, nothing else. Both ends show
// their server certificate and accept only a server certificate of the
// cluster's CAs (tls::make_peer_server_context / make_peer_client_context),
// so an agent can neither open nor answer one.
//
// A server sends its own forwards on links it dialled, and answers (an
// `undeliverable`) on the link the message came in on: the two servers of a
// pair may hold a link each way, and never race to open one.
//
// Bounded: at most kMaxQueuedFrames frames wait to be written; a relay
// beyond is dropped and counted. Nothing is lost by it: the clients at the
// ends hold every message until it is acknowledged, and send it again.
//
// Runs on one executor (agentlb-mgmt's main io_context); every member is
// called there.

#include "common/protocol/frame_intake.hpp"
#include "common/tls/context.hpp"
#include "common/tls/stream.hpp"
#include "common/wire/messages.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

namespace agentlb::mgmt {

class PeerLink;

class PeerLinkHandler {
public:
    virtual ~PeerLinkHandler() = default;
    // A valid relay from the other server, in order.
    virtual void on_relay(const std::shared_ptr<PeerLink>& link, wire::Relay relay) = 0;
    // The link ended (`reason` for the log); called once.
    virtual void on_link_closed(PeerLink& link, const std::string& reason) = 0;
    // A send() found the queue full, and it has drained to half since.
    virtual void on_link_room(PeerLink& link) = 0;
};

class PeerLink : public std::enable_shared_from_this<PeerLink> {
public:
    static constexpr std::size_t kMaxQueuedFrames = 4096;
    static constexpr std::chrono::seconds kHandshakeTimeout{10};

    // The accepting end: `socket` is connected; the handshake comes first.
    PeerLink(boost::asio::ip::tcp::socket socket,
             SSL_CTX* context,
             PeerLinkHandler& handler,
             std::uint64_t id);
    // The dialling end: to `server` at `address` ("host:port").
    PeerLink(boost::asio::any_io_executor executor,
             SSL_CTX* context,
             std::string server,
             std::string address,
             PeerLinkHandler& handler,
             std::uint64_t id);

    // Connects (dialling end), shakes hands, then reads and writes.
    void start();
    // Queues `relay`. False when it was not: the link is closing, or full
    // (then on_link_room() follows once it has drained to half).
    bool send(const wire::Relay& relay);
    void close(const std::string& reason);

    std::uint64_t id() const { return id_; }
    bool dialled() const { return dialled_; }
    // The other server's name: the one dialled, or the accepted certificate's
    // CN once the handshake is done ("" before).
    const std::string& server() const { return server_; }
    const std::string& address() const { return address_; }
    bool closing() const { return closing_; }

private:
    boost::asio::awaitable<void> run();
    boost::asio::awaitable<std::string> connect();
    boost::asio::awaitable<std::string> shake_hands();
    boost::asio::awaitable<void> write_loop();

    boost::asio::any_io_executor executor_;
    std::optional<boost::asio::ip::tcp::socket> accepted_;
    tls::SslCtxPtr context_;  // a reference of its own: the server's contexts may be renewed meanwhile
    std::string server_;
    std::string address_;
    PeerLinkHandler& handler_;
    std::uint64_t id_;
    bool dialled_;
    std::unique_ptr<tls::TlsStream> stream_;
    protocol::FrameIntake intake_;
    std::deque<std::string> outbox_;
    boost::asio::steady_timer write_signal_;
    bool closing_ = false;
    bool room_wanted_ = false;
};

}  // namespace agentlb::mgmt
