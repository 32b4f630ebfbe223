#include "common/protocol/frame_intake.hpp"

namespace agentlb::protocol {

Intake FrameIntake::next() {
    if (bad_message_) {
        return *bad_message_;
    }
    boost::system::error_code ec;
    auto payload = decoder_.next(ec);
    if (ec) {
        return BadInput{ec, "bad frame: " + ec.message()};
    }
    if (!payload) {
        return NeedMore{};
    }
    wire::Message message;
    std::string detail;
    ec = wire::decode_message(*payload, message, detail);
    if (ec) {
        bad_message_ = std::make_unique<BadInput>(
            BadInput{ec, "bad message: " + (detail.empty() ? ec.message() : detail)});
        return *bad_message_;
    }
    return message;
}

}  // namespace agentlb::protocol
