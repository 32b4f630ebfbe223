// FrameDecoder against a whole-buffer reference reading of the same bytes.
//
// Input: 2 bytes seeding how the stream is cut into chunks (and when the
// caller drains), then the byte stream itself. Properties: the payloads and
// the error are the same however the stream is cut; every payload is
// non-empty, at most kMaxPayload bytes, and re-encodes to the bytes it came
// from; an error is sticky (later input ignored, next() keeps reporting it)
// and leaves no unfinished frame held; buffered_bytes() and idle() tell the truth.

#include "common/wire/error.hpp"
#include "common/wire/frame.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wire = agentlb::wire;

namespace {

struct Reference {
    std::vector<std::string_view> payloads;
    std::optional<wire::errc> error;
    std::size_t frame_start = 0;  // where the first unfinished (or failed) frame starts
};

Reference read_whole(std::string_view stream) {
    Reference ref;
    std::size_t pos = 0;
    while (stream.size() - pos >= wire::kFrameHeaderSize) {
        const auto* h = reinterpret_cast<const unsigned char*>(stream.data() + pos);
        const std::size_t n =
            (std::size_t{h[0]} << 24) | (std::size_t{h[1]} << 16) | (std::size_t{h[2]} << 8) | h[3];
        if (n == 0) {
            ref.error = wire::errc::empty_frame;
            break;
        }
        if (n > wire::kMaxPayload) {
            ref.error = wire::errc::frame_too_large;
            break;
        }
        if (stream.size() - pos - wire::kFrameHeaderSize < n) {
            break;
        }
        ref.payloads.push_back(stream.substr(pos + wire::kFrameHeaderSize, n));
        pos += wire::kFrameHeaderSize + n;
    }
    ref.frame_start = pos;
    return ref;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    agentlb::fuzz::Chunker chunker{(std::uint32_t{data[0]} << 8 | data[1]) * 2654435761u | 1u};
    const std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);
    const Reference ref = read_whole(stream);

    wire::FrameDecoder decoder;
    std::vector<std::string> got;
    boost::system::error_code ec;
    auto drain = [&] {
        while (auto payload = decoder.next(ec)) {
            FUZZ_CHECK(!ec, "a payload comes with a cleared error");
            FUZZ_CHECK(!payload->empty(), "payloads are never empty");
            FUZZ_CHECK(payload->size() <= wire::kMaxPayload, "payloads are at most kMaxPayload bytes");
            FUZZ_CHECK(got.size() < ref.payloads.size(), "no more payloads than the stream holds");
            FUZZ_CHECK(*payload == ref.payloads[got.size()],
                       "payloads do not depend on how the stream is cut");
            auto frame = wire::encode_frame(*payload);
            FUZZ_CHECK(frame.ok(), "a decoded payload encodes");
            got.push_back(std::move(*payload));
        }
    };

    std::size_t pos = 0;
    while (pos < stream.size()) {
        const std::uint32_t r = chunker.next();
        // Mostly small chunks (the hard cases), sometimes everything left.
        std::size_t chunk = (r & 7) == 0 ? stream.size() - pos : 1 + (r >> 3) % 9;
        chunk = std::min(chunk, stream.size() - pos);
        decoder.feed(stream.data() + pos, chunk);
        pos += chunk;
        if ((r >> 28) & 1) {
            drain();
            FUZZ_CHECK(!decoder.failed() || ec, "next() reports the failure once the payloads are taken");
        }
        if (!decoder.failed()) {
            FUZZ_CHECK(decoder.buffered_bytes() <= pos, "never holds more than it was fed");
        }
    }
    drain();

    if (ref.error) {
        FUZZ_CHECK(decoder.failed(), "a bad length field fails the decoder");
        FUZZ_CHECK(ec == *ref.error, "the error names the bad length field");
        FUZZ_CHECK(!decoder.idle(), "a failed decoder is not idle");
        FUZZ_CHECK(decoder.buffered_bytes() == 0, "a failure drops the unfinished frame");
        // Sticky: more input, even a valid frame, changes nothing.
        const std::string valid("\0\0\0\1x", 5);
        decoder.feed(valid.data(), valid.size());
        boost::system::error_code again;
        FUZZ_CHECK(!decoder.next(again), "nothing is decoded after a failure");
        FUZZ_CHECK(again == *ref.error, "the error stays the same");
        FUZZ_CHECK(decoder.buffered_bytes() == 0, "input after a failure is not kept");
    } else {
        FUZZ_CHECK(!ec, "no error without a bad length field");
        FUZZ_CHECK(!decoder.failed(), "no failure without a bad length field");
        FUZZ_CHECK(decoder.idle() == (ref.frame_start == stream.size()),
                   "idle() exactly at a frame boundary");
        FUZZ_CHECK(decoder.buffered_bytes() == stream.size() - ref.frame_start,
                   "holds exactly the unfinished frame once drained");
    }
    FUZZ_CHECK(got.size() == ref.payloads.size(), "every complete frame before an error is delivered");
    return 0;
}
