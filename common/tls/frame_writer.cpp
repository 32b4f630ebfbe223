#include "common/tls/frame_writer.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <utility>

namespace agentlb::tls {

boost::asio::awaitable<boost::system::error_code> write_queued_frames(
    TlsStream& stream,
    std::deque<std::string>& outbox,
    boost::asio::steady_timer& signal,
    const bool& stop,
    const std::function<void()>& after_write) {
    while (!stop) {
        if (outbox.empty()) {
            boost::system::error_code ignored;
            signal.expires_at(std::chrono::steady_clock::time_point::max());
            co_await signal.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
            continue;
        }
        const std::string frame = std::move(outbox.front());
        outbox.pop_front();
        const boost::system::error_code ec = co_await stream.write_all(frame.data(), frame.size());
        if (ec) {
            co_return ec;
        }
        if (after_write) {
            after_write();
        }
    }
    co_return boost::system::error_code{};
}

}  // namespace agentlb::tls
