#include "common/wire/error.hpp"

#include <string>

namespace agentlb::wire {
namespace {

class WireCategory final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "agentlb.wire"; }

    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::frame_too_large:
                return "frame larger than the 65536-byte limit";
            case errc::empty_frame:
                return "frame with an empty payload";
            case errc::malformed_json:
                return "frame payload is not valid JSON";
            case errc::not_an_object:
                return "frame payload is not a JSON object";
            case errc::missing_field:
                return "message lacks a required field";
            case errc::wrong_type:
                return "message field has the wrong JSON type";
            case errc::unknown_type:
                return "unknown message type";
            case errc::unsupported_version:
                return "unsupported protocol version";
            case errc::invalid_value:
                return "message field has an invalid value";
        }
        return "unknown wire error " + std::to_string(value);
    }
};

}  // namespace

const boost::system::error_category& wire_category() noexcept {
    static const WireCategory category;
    return category;
}

}  // namespace agentlb::wire
