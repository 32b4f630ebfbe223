#include "mgmt/frame_outbox.hpp"

#include <boost/asio/error.hpp>

namespace agentlb::mgmt {

FrameOutbox::Flushed FrameOutbox::flush(tls::TlsStream& stream) {
    Flushed out;
    while (!frames_.empty()) {
        const std::string& frame = frames_.front();
        const auto ec = stream.write_now(frame.data(), frame.size(), out.want);
        if (ec == boost::asio::error::would_block) {
            out.blocked = true;
            return out;
        }
        if (ec) {
            out.error = ec;
            return out;
        }
        frames_.pop_front();
        ++out.written;
    }
    return out;
}

}  // namespace agentlb::mgmt
