#pragma once

// The frames an agent session has queued and not yet written, written
// without suspending: as much as the socket takes at once.

#include "common/tls/stream.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <list>
#include <string>

namespace agentlb::mgmt {

class FrameOutbox {
public:
    struct Flushed {
        std::size_t written = 0;  // frames that left the queue
        bool blocked = false;     // the socket is full: wait for `want`, then flush again
        boost::asio::ip::tcp::socket::wait_type want = boost::asio::ip::tcp::socket::wait_write;
        boost::system::error_code error;  // the write failed (not would_block)
    };

    void push(std::string frame) { frames_.push_back(std::move(frame)); }
    bool empty() const noexcept { return frames_.empty(); }
    std::size_t size() const noexcept { return frames_.size(); }

    Flushed flush(tls::TlsStream& stream);

private:
    std::list<std::string> frames_;  // a list: an empty std::deque still allocates
};

}  // namespace agentlb::mgmt
