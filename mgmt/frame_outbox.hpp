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

    void push(std::string frame) {
        frames_.push_back(std::move(frame));
        ++count_;
    }
    bool empty() const noexcept { return frames_.empty(); }
    // Frames queued (some may already be joined for one write).
    std::size_t size() const noexcept { return count_; }

    // Writes what is queued: the frames behind the first are joined to it,
    // up to one TLS record, so that frames queued together cost one record
    // and one system call.
    Flushed flush(tls::TlsStream& stream);

private:
    // One full TLS 1.3 record's plaintext.
    static constexpr std::size_t kJoinBytes = 16 * 1024;

    std::list<std::string> frames_;  // a list: an empty std::deque still allocates
    std::size_t count_ = 0;
    // Frames joined in frames_.front(); once a write of it would block it
    // stays as it is: OpenSSL wants the same bytes again.
    std::size_t front_frames_ = 1;
    bool front_tried_ = false;
};

}  // namespace agentlb::mgmt
