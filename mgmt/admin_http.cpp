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
        if (connections_.load() >= limits_.max_connections) {
            spdlog::warn("admin http: refusing a connection, {} already open", limits_.max_connections);
            continue;  // the socket closes when it goes out of scope
        }
        auto self = shared_from_this();
        auto executor = socket.get_executor();
        asio::co_spawn(
            executor,
            [self, s = std::move(socket)]() mutable { return self->serve(std::move(s)); },
            [](std::exception_ptr e) {
                if (auto text = util::exception_text(e)) {
                    spdlog::error("admin http: session ended: {}", *text);
                }
            });
    }
}

asio::awaitable<void> AdminHttpServer::serve(tcp::socket socket) {
    ++connections_;
    struct Release {
        std::atomic<int>& count;
        ~Release() { --count; }
    } release{connections_};

    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer(limits_.header_limit + limits_.body_limit);
    for (;;) {
        boost::system::error_code ec;
        http::request_parser<http::string_body> parser;
        parser.header_limit(limits_.header_limit);
        parser.body_limit(limits_.body_limit);
        stream.expires_after(limits_.request_timeout);
        co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            if (!is_routine(ec)) {
                spdlog::debug("admin http: bad request: {}", ec.message());
            }
            break;
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
