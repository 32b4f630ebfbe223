#include "mgmt/admin_http.hpp"

#include "common/util/exception_text.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace agentlb::mgmt {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

// Errors that end a connection normally and are not worth a log line.
bool is_routine(const boost::system::error_code& ec) {
    return ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
           ec == asio::error::eof || ec == beast::error::timeout || ec == asio::error::connection_reset;
}

}  // namespace

struct AdminHttpServer::Connection {
    Connection(std::uint64_t id, tcp::socket socket) : id(id), stream(std::move(socket)) {}

    const std::uint64_t id;
    beast::tcp_stream stream;  // used on its own strand only
    bool idle = true;          // under the server's mutex_: waiting for (the rest of) a request
};

AdminHttpServer::AdminHttpServer(asio::any_io_executor executor,
                                 const tcp::endpoint& endpoint,
                                 HttpHandler handler,
                                 AdminHttpLimits limits)
    : executor_(std::move(executor)),
      acceptor_(executor_, endpoint),  // sets SO_REUSEADDR
      handler_(std::move(handler)),
      limits_(limits) {}

void AdminHttpServer::start() {
    auto self = shared_from_this();
    asio::co_spawn(
        acceptor_.get_executor(),
        [self] { return self->accept_loop(); },
        [](std::exception_ptr e) {
            if (auto text = util::exception_text(e)) {
                spdlog::error("admin http: accept loop ended: {}", *text);
            }
        });
}

void AdminHttpServer::stop() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
        boost::system::error_code ignored;
        self->acceptor_.close(ignored);
    });
}

tcp::endpoint AdminHttpServer::local_endpoint() const {
    return acceptor_.local_endpoint();
}

asio::awaitable<void> AdminHttpServer::accept_loop() {
    for (;;) {
        boost::system::error_code ec;
        tcp::socket socket(asio::make_strand(executor_));
        co_await acceptor_.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) {
            co_return;
        }
        if (ec) {
            spdlog::warn("admin http: accept failed: {}", ec.message());
            continue;
        }
        auto executor = socket.get_executor();
        auto connection = std::make_shared<Connection>(++next_id_, std::move(socket));
        if (!admit(connection)) {
            spdlog::warn("admin http: refusing a connection, {} already open and busy",
                         limits_.max_connections);
            continue;  // the socket closes with `connection`
        }
        auto self = shared_from_this();
        asio::co_spawn(
            executor,
            [self, connection]() { return self->serve(connection); },
            [](std::exception_ptr e) {
                if (auto text = util::exception_text(e)) {
                    spdlog::error("admin http: session ended: {}", *text);
                }
            });
    }
}

bool AdminHttpServer::admit(const std::shared_ptr<Connection>& connection) {
    std::shared_ptr<Connection> oldest_idle;
    {
        std::lock_guard lock(mutex_);
        if (open_.size() >= limits_.max_connections) {
            auto found = std::find_if(
                open_.begin(), open_.end(), [](const auto& entry) { return entry.second->idle; });
            if (found == open_.end()) {
                return false;
            }
            oldest_idle = std::move(found->second);
            open_.erase(found);
        }
        open_.emplace(connection->id, connection);
    }
    if (oldest_idle) {
        spdlog::debug("admin http: {} connections open; closing the oldest idle one",
                      limits_.max_connections);
        // Its read ends with operation_aborted; a request that arrived
        // meanwhile finds it evicted in set_idle.
        asio::post(oldest_idle->stream.get_executor(), [oldest_idle] { oldest_idle->stream.cancel(); });
    }
    return true;
}

bool AdminHttpServer::set_idle(const Connection& connection, bool idle) {
    std::lock_guard lock(mutex_);
    auto found = open_.find(connection.id);
    if (found == open_.end()) {
        return false;
    }
    found->second->idle = idle;
    return true;
}

void AdminHttpServer::forget(const Connection& connection) {
    std::lock_guard lock(mutex_);
    open_.erase(connection.id);
}

asio::awaitable<void> AdminHttpServer::serve(std::shared_ptr<Connection> connection) {
    struct Forget {
        AdminHttpServer& server;
        const Connection& connection;
        ~Forget() { server.forget(connection); }
    } forget{*this, *connection};

    beast::tcp_stream& stream = connection->stream;
    beast::flat_buffer buffer(limits_.header_limit + limits_.body_limit);
    for (;;) {
        boost::system::error_code ec;
        http::request_parser<http::string_body> parser;
        parser.header_limit(limits_.header_limit);
        parser.body_limit(limits_.body_limit);
        if (!set_idle(*connection, true)) {
            break;
        }
        stream.expires_after(limits_.request_timeout);
        co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            if (!is_routine(ec)) {
                spdlog::debug("admin http: bad request: {}", ec.message());
            }
            break;
        }
        if (!set_idle(*connection, false)) {
            break;  // closed to make room while the request arrived
        }
        const auto& request = parser.get();
        http::response<http::string_body> response;
        response.version(request.version());
        response.keep_alive(request.keep_alive());
        response.set(http::field::server, "agentlb-mgmt");
        if (request.method() != http::verb::get && request.method() != http::verb::head) {
            response.result(http::status::method_not_allowed);
            response.set(http::field::allow, "GET, HEAD");
            response.set(http::field::content_type, "text/plain; charset=utf-8");
            response.body() = "only GET and HEAD are served\n";
        } else {
            std::string_view target(request.target().data(), request.target().size());
            if (auto q = target.find('?'); q != std::string_view::npos) {
                target = target.substr(0, q);
            }
            HttpReply reply = handler_(target);
            response.result(static_cast<http::status>(reply.status));
            response.set(http::field::content_type, reply.content_type);
            response.body() = std::move(reply.body);
        }
        response.prepare_payload();
        if (request.method() == http::verb::head) {
            response.body().clear();  // keeps the Content-Length of the GET answer
        }
        stream.expires_after(limits_.request_timeout);
        co_await http::async_write(stream, response, asio::redirect_error(asio::use_awaitable, ec));
        if (ec || !response.keep_alive()) {
            break;
        }
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace agentlb::mgmt
