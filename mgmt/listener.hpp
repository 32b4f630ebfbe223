#pragma once

// Accepts TCP connections on one port and hands each socket, bound to the
// next io_context of the pool, to a session factory. Used for the agent port
// and the enrollment port.

#include "mgmt/awaitable.hpp"
#include "mgmt/io_pool.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <string>

namespace agentlb::mgmt {

class Listener : public std::enable_shared_from_this<Listener> {
public:
    using SessionFactory = std::function<void(boost::asio::ip::tcp::socket)>;

    // Binds at once (SO_REUSEADDR), so a busy port stops the daemon at start:
    // throws boost::system::system_error.
    Listener(IoPool& pool,
             const boost::asio::ip::tcp::endpoint& endpoint,
             std::string what,
             SessionFactory factory);

    void start();
    // Closes the acceptor; open sessions are not touched. Any thread.
    void stop();
    boost::asio::ip::tcp::endpoint local_endpoint() const;

private:
    boost::asio::awaitable<void> accept_loop();

    IoPool& pool_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::string what_;
    SessionFactory factory_;
};

}  // namespace agentlb::mgmt
