// decode_message on arbitrary bytes (every message type).
//
// Properties: never throws; a refusal has an error code and a short detail
// that is safe to log (peer text escaped, cut); a decoded message encodes to
// a payload that decodes to the same message, and that payload is canonical
// (encoding the copy gives the same bytes).

#include "common/util/text.hpp"
#include "common/wire/messages.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wire = agentlb::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view payload(reinterpret_cast<const char*>(data), size);
    wire::Message message;
    std::string detail = "stale";
    const auto ec = wire::decode_message(payload, message, detail);
    if (ec) {
        FUZZ_CHECK(!detail.empty(), "a refusal says why");
        FUZZ_CHECK(agentlb::util::shows_safely(detail), "the detail is safe to log (peer bytes escaped)");
        // Field names and type words are fixed; peer text is cut at 64 bytes (x4 escaped).
        FUZZ_CHECK(detail.size() <= 512, "the detail is short");
        return 0;
    }
    FUZZ_CHECK(detail.empty(), "success clears the detail");

    const std::string encoded = wire::encode_message(message);
    wire::Message again;
    std::string again_detail;
    const auto again_ec = wire::decode_message(encoded, again, again_detail);
    FUZZ_CHECK(!again_ec, "an encoded message decodes");
    FUZZ_CHECK(again == message, "encode then decode gives the same message");
    FUZZ_CHECK(wire::message_type(again) == wire::message_type(message), "the type survives");
    FUZZ_CHECK(wire::encode_message(again) == encoded, "the encoding is canonical");
    return 0;
}
