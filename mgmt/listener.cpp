#include "mgmt/listener.hpp"

#include "common/util/exception_text.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

namespace agentlb::mgmt {

namespace asio = boost::asio;
using asio::ip::tcp;

Listener::Listener(IoPool& pool, const tcp::endpoint& endpoint, std::string what, SessionFactory factory)
    : pool_(pool), acceptor_(pool.main(), endpoint), what_(std::move(what)), factory_(std::move(factory)) {}

void Listener::start() {
    auto self = shared_from_this();
    asio::co_spawn(
        acceptor_.get_executor(),
        [self] { return self->accept_loop(); },
        [what = what_](std::exception_ptr e) {
            if (auto text = util::exception_text(e)) {
                spdlog::error("{}: accept loop ended: {}", what, *text);
            }
        });
}

void Listener::stop() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
        boost::system::error_code ignored;
        self->acceptor_.close(ignored);
    });
}

tcp::endpoint Listener::local_endpoint() const {
    return acceptor_.local_endpoint();
}

asio::awaitable<void> Listener::accept_loop() {
    for (;;) {
        boost::system::error_code ec;
        auto socket = co_await acceptor_.async_accept(pool_.next().get_executor(),
                                                      asio::redirect_error(asio::use_awaitable, ec));
        if (!acceptor_.is_open() || ec == asio::error::operation_aborted) {
            co_return;
        }
        if (ec) {
            // Out of descriptors or memory: wait a little instead of spinning.
            spdlog::warn("{}: accept failed: {}", what_, ec.message());
            asio::steady_timer pause(acceptor_.get_executor(), std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        // TCP_NODELAY is set by the session's TlsStream (once: a second
        // setsockopt per connection showed in the connect profile).
        try {
            factory_(std::move(socket));
        } catch (const std::exception& e) {
            spdlog::error("{}: cannot start a session: {}", what_, e.what());
        }
    }
}

}  // namespace agentlb::mgmt
