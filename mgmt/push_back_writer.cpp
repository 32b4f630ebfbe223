#include "mgmt/push_back_writer.hpp"

#include "common/protocol/push_back.hpp"
#include "common/tls/deadline.hpp"
#include "common/util/exception_text.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <spdlog/spdlog.h>

#include <array>
#include <memory>
#include <string>

namespace agentlb::mgmt {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

asio::awaitable<void> answer(tcp::socket socket, std::string line) {
    tls::Deadline deadline(socket);
    deadline.expires_after(kPushBackDrain);
    error_code ec;
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    const auto buffer = asio::buffer(line);
    co_await asio::async_write(socket, buffer, token);
    if (!ec) {
        socket.shutdown(tcp::socket::shutdown_send, ec);
    }
    std::array<char, 512> discard;
    while (!ec) {
        const auto into = asio::buffer(discard);
        co_await socket.async_read_some(into, token);
    }
    deadline.cancel();
    socket.close(ec);
}

}  // namespace

void push_back(tcp::socket socket, std::chrono::milliseconds retry_after) {
    auto executor = socket.get_executor();
    asio::co_spawn(executor,
                   answer(std::move(socket), protocol::format_push_back(retry_after)),
                   [](std::exception_ptr e) {
                       if (auto text = util::exception_text(e)) {
                           spdlog::error("push-back: {}", *text);
                       }
                   });
}

}  // namespace agentlb::mgmt
