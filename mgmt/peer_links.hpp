#pragma once

// This server's end of the peer link (issue 19, peer_link.hpp): the
// --peer-listen listener and the links it holds. One link is dialled per
// other server, when a relay first goes there, and again after it ended;
// accepted links live until the other end closes them. A relay for a server
// whose link is still connecting waits in that link's queue.
//
// Runs on one executor (agentlb-mgmt's main io_context); every member is
// called there.

#include "mgmt/metrics.hpp"
#include "mgmt/peer_link.hpp"
#include "mgmt/tls_contexts.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace agentlb::mgmt {

class PeerLinks : public PeerLinkHandler, public std::enable_shared_from_this<PeerLinks> {
public:
    using OnRelay = std::function<void(const std::shared_ptr<PeerLink>& link, wire::Relay relay)>;
    // A link this server dialled ended: what was sent on it may be lost.
    using OnDialledClosed = std::function<void(const std::string& server)>;
    // A link that was full has room again.
    using OnRoom = std::function<void()>;

    PeerLinks(boost::asio::any_io_executor executor, TlsContexts& tls, Metrics& metrics);

    void set_handlers(OnRelay on_relay, OnDialledClosed on_dialled_closed, OnRoom on_room);
    // Binds at once (a busy port stops the daemon at start): throws
    // boost::system::system_error. Accepting starts with start().
    void listen(const boost::asio::ip::tcp::endpoint& endpoint);
    void start();
    std::optional<boost::asio::ip::tcp::endpoint> local_endpoint() const;

    // Sends on this server's own link to `server` at `address`, dialling it
    // when there is none. False when the link's queue is full (on_room
    // follows once it has drained to half) or the links are stopped.
    bool send_to(const std::string& server, const std::string& address, const wire::Relay& relay);
    // Closes the listener and every link.
    void stop();

    // PeerLinkHandler
    void on_relay(const std::shared_ptr<PeerLink>& link, wire::Relay relay) override;
    void on_link_closed(PeerLink& link, const std::string& reason) override;
    void on_link_room(PeerLink& link) override;

private:
    boost::asio::awaitable<void> accept_loop();

    boost::asio::any_io_executor executor_;
    TlsContexts& tls_;
    Metrics& metrics_;
    OnRelay on_relay_;
    OnDialledClosed on_dialled_closed_;
    OnRoom on_room_;
    std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
    std::map<std::string, std::shared_ptr<PeerLink>> dialled_;  // by server name
    std::map<std::uint64_t, std::shared_ptr<PeerLink>> accepted_;
    std::uint64_t next_id_ = 1;
    bool stopped_ = false;
};

}  // namespace agentlb::mgmt
