#include "mgmt/frame_outbox.hpp"

#include <boost/asio/error.hpp>

#include <iterator>

namespace agentlb::mgmt {

FrameOutbox::Flushed FrameOutbox::flush(tls::TlsStream& stream) {
    Flushed out;
    while (!frames_.empty()) {
        std::string& front = frames_.front();
        if (!front_tried_) {
            for (auto next = std::next(frames_.begin());
                 next != frames_.end() && front.size() + next->size() <= kJoinBytes;
                 next = frames_.erase(next)) {
                front += *next;
                ++front_frames_;
            }
        }
        const auto ec = stream.write_now(front.data(), front.size(), out.want);
        if (ec == boost::asio::error::would_block) {
            front_tried_ = true;
            out.blocked = true;
            return out;
        }
        if (ec) {
            out.error = ec;
            return out;
        }
        frames_.pop_front();
        count_ -= front_frames_;
        out.written += front_frames_;
        front_frames_ = 1;
        front_tried_ = false;
    }
    return out;
}

}  // namespace agentlb::mgmt
