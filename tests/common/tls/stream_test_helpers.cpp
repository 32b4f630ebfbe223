#include "stream_test_helpers.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace agentlb::tls::test {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

awaitable<tcp::socket> connect_to(std::uint16_t port) {
    tcp::socket socket(co_await asio::this_coro::executor);
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
    co_await socket.async_connect(endpoint, use_awaitable);
    co_return socket;
}

std::string dialled(std::uint16_t port) {
    return "127.0.0.1:" + std::to_string(port);
}

awaitable<std::string> read_bytes(std::shared_ptr<TlsStream> stream, std::size_t size, error_code& ec) {
    std::string out;
    char buffer[3000];
    while (out.size() < size) {
        const std::size_t n = co_await stream->read_some(buffer, sizeof buffer, ec);
        if (ec) {
            break;
        }
        out.append(buffer, n);
    }
    co_return out;
}

}  // namespace agentlb::tls::test
