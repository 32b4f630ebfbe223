#include "common/tls/frame_writer.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <utility>

namespace agentlb::tls {

namespace {

// One full TLS 1.3 record's plaintext.
constexpr std::size_t kJoinBytes = 16 * 1024;

}  // namespace

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
        // The frames queued behind the first go in the same write, up to one
        // TLS record: one record and one system call for a burst.
        std::string frames = std::move(outbox.front());
        outbox.pop_front();
        while (!outbox.empty() && frames.size() + outbox.front().size() <= kJoinBytes) {
            frames += outbox.front();
            outbox.pop_front();
        }
        const boost::system::error_code ec = co_await stream.write_all(frames.data(), frames.size());
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
