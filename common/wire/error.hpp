#pragma once

// Errors a peer can cause at the frame and message layer. Each one closes
// that peer's connection; the human-readable detail (which field, what was
// wrong) travels separately from the code, see decode_message().

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace agentlb::wire {

enum class errc {
    frame_too_large = 1,  // length field above kMaxPayload
    empty_frame,          // length field is zero
    malformed_json,       // payload is not valid JSON (or not valid UTF-8)
    not_an_object,        // valid JSON, but not an object
    missing_field,        // "type", "v" or a required field is absent
    wrong_type,           // a field has the wrong JSON type
    unknown_type,         // "type" names no message this build knows
    unsupported_version,  // "v" is not 1
    invalid_value,        // right JSON type, value out of range (negative, beyond int64)
};

const boost::system::error_category& wire_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), wire_category()};
}

}  // namespace agentlb::wire

namespace boost::system {
template <>
struct is_error_code_enum<agentlb::wire::errc> : std::true_type {};
}  // namespace boost::system
