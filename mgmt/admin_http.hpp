#pragma once

// The admin endpoint: a small plain-HTTP/1.1 server (Beast) for /healthz,
// /metrics and /v1/status. It only routes; what each path answers is given
// by the caller. Meant for loopback: it has no authentication.

#include "mgmt/awaitable.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace agentlb::mgmt {

struct HttpReply {
    unsigned status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};

// Called on an I/O thread for every GET/HEAD; `target` is the request path
// with any query string removed.
using HttpHandler = std::function<HttpReply(std::string_view target)>;

struct AdminHttpLimits {
    std::chrono::seconds request_timeout{10};  // whole request, and idle keep-alive
    std::uint32_t header_limit = 8 * 1024;
    std::uint64_t body_limit = 1024;
    // At the limit, a new connection closes the oldest one that is waiting
    // for (the rest of) a request: idle clients can never lock /healthz out.
    // Only when every connection is busy answering is the new one refused.
    std::size_t max_connections = 64;
};

class AdminHttpServer : public std::enable_shared_from_this<AdminHttpServer> {
public:
    // Binds at once so a busy port stops the daemon at start (throws system_error).
    AdminHttpServer(boost::asio::any_io_executor executor,
                    const boost::asio::ip::tcp::endpoint& endpoint,
                    HttpHandler handler,
                    AdminHttpLimits limits = {});

    void start();
    void stop();
    boost::asio::ip::tcp::endpoint local_endpoint() const;

private:
    struct Connection;

    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> serve(std::shared_ptr<Connection> connection);

    // The table of open connections (any thread). admit: false when full of
    // busy connections, else records `connection`, first closing the oldest
    // idle one if at the limit.
    bool admit(const std::shared_ptr<Connection>& connection);
    // false: the connection was closed to make room and must end.
    bool set_idle(const Connection& connection, bool idle);
    void forget(const Connection& connection);

    boost::asio::any_io_executor executor_;
    boost::asio::ip::tcp::acceptor acceptor_;
    HttpHandler handler_;
    AdminHttpLimits limits_;
    std::mutex mutex_;
    std::map<std::uint64_t, std::shared_ptr<Connection>> open_;  // by accept order
    std::uint64_t next_id_ = 0;
};

}  // namespace agentlb::mgmt
