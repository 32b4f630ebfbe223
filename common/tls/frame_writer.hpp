#pragma once

// Writing queued frames to a TlsStream: the writer loop every peer of the
// agent port shares (agent, test servers). One writer per stream, so frames
// never interleave.

#include "common/tls/stream.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <deque>
#include <functional>
#include <string>

namespace agentlb::tls {

// Writes the frames queued in `outbox` to `stream`, oldest first, until
// `stop` is true or a write fails; frames queued together go in one write.
// While the queue is empty it waits on `signal`, set here to "forever":
// whoever queues a frame or sets `stop` cancels it. `after_write`, when
// set, runs after each write (room in the queue again). Returns the failed
// write's error; none once stopped.
boost::asio::awaitable<boost::system::error_code> write_queued_frames(
    TlsStream& stream,
    std::deque<std::string>& outbox,
    boost::asio::steady_timer& signal,
    const bool& stop,
    const std::function<void()>& after_write = nullptr);

}  // namespace agentlb::tls
