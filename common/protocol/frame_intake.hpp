#pragma once

// The one place a received byte stream becomes messages, for every exchange
// of both ports and both sides: bytes in (whatever a read returned), decoded
// messages out, or the first frame or message error with what was wrong.
//
// Sans-I/O: the drivers read from their sockets and feed(); the state
// machines in common/protocol take from next().

#include "common/wire/frame.hpp"
#include "common/wire/messages.hpp"

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <variant>

namespace agentlb::protocol {

// Nothing complete yet: read more.
struct NeedMore {};

// The stream is unusable from here on: a frame the decoder refused (too
// large, empty) or a payload that is not a message of ours. `detail` is safe
// to log (peer text escaped and bounded).
struct BadInput {
    boost::system::error_code code;  // wire::errc
    std::string detail;              // e.g. `bad message: field "seq" of "ack": expected an integer`
};

using Intake = std::variant<NeedMore, wire::Message, BadInput>;

class FrameIntake {
public:
    void feed(const void* data, std::size_t size) { decoder_.feed(data, size); }

    // The next message in arrival order. After a BadInput every later call
    // returns it again: nothing after a bad frame is trusted.
    Intake next();

    // At a frame boundary (a close here cut no frame in half).
    bool idle() const noexcept { return decoder_.idle(); }
    std::size_t buffered_bytes() const noexcept { return decoder_.buffered_bytes(); }

private:
    wire::FrameDecoder decoder_;
    // The bad message that ended the stream; allocated only then, since every
    // agentlb-mgmt session holds an intake and almost none ever fails.
    std::unique_ptr<BadInput> bad_message_;
};

}  // namespace agentlb::protocol
