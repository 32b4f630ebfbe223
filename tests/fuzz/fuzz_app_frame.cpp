// The local protocol's FrameReader (client/agentlb_client.hpp) on any bytes.
//
// Input: 2 bytes seeding how the stream is cut into chunks, then the stream.
// Properties: the frames and the error do not depend on how the stream is
// cut; every frame read is valid (frame_problem() is empty) and encodes back
// to exactly the bytes it was read from; an error is sticky, drops what was
// held and names the problem in printable text; the reader never holds more
// than it was fed.

#include "client/agentlb_client.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace client = agentlb::client;

namespace {

struct WholeReading {
    std::vector<client::Frame> frames;
    std::string error;
};

WholeReading read_at_once(std::string_view stream) {
    WholeReading reading;
    client::FrameReader reader;
    reader.feed(stream.data(), stream.size());
    while (auto frame = reader.next()) {
        reading.frames.push_back(std::move(*frame));
    }
    reading.error = reader.error();
    return reading;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    agentlb::fuzz::Chunker seed{(std::uint32_t{data[0]} << 8 | data[1]) * 2654435761u | 1u};
    const std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);
    const WholeReading whole = read_at_once(stream);

    client::FrameReader reader;
    std::vector<client::Frame> got;
    std::size_t fed = 0;
    std::size_t taken = 0;  // bytes of the frames read so far
    const auto drain = [&] {
        while (auto frame = reader.next()) {
            FUZZ_CHECK(client::frame_problem(*frame).empty(), "every frame read is valid");
            std::string bytes;
            std::string error;
            FUZZ_CHECK(client::encode_frame(*frame, bytes, error), "a frame read encodes");
            FUZZ_CHECK(stream.substr(taken, bytes.size()) == bytes,
                       "a frame encodes to the bytes it came from");
            taken += bytes.size();
            FUZZ_CHECK(got.size() < whole.frames.size(), "no more frames than the stream holds");
            FUZZ_CHECK(*frame == whole.frames[got.size()], "frames do not depend on how the stream is cut");
            got.push_back(std::move(*frame));
        }
    };
    while (fed < stream.size()) {
        const std::uint32_t r = seed.next();
        std::size_t chunk = (r & 7) == 0 ? stream.size() - fed : 1 + (r >> 3) % 13;
        chunk = std::min(chunk, stream.size() - fed);
        reader.feed(stream.data() + fed, chunk);
        fed += chunk;
        if ((r >> 28) & 1) {
            drain();
        }
        FUZZ_CHECK(reader.buffered() <= fed - taken, "never holds more than it was fed");
    }
    drain();

    FUZZ_CHECK(got.size() == whole.frames.size(), "every frame before an error is read");
    FUZZ_CHECK(reader.error() == whole.error, "the error does not depend on how the stream is cut");
    if (reader.failed()) {
        FUZZ_CHECK(agentlb::fuzz::free_of_control_bytes(reader.error()), "the error is safe to log");
        FUZZ_CHECK(reader.buffered() == 0, "a failure drops what was held");
        std::string valid;
        std::string error;
        client::encode_frame(client::Frame{client::FrameKind::error, 0, 0, 0, 0, "", "", "x"}, valid, error);
        reader.feed(valid.data(), valid.size());
        FUZZ_CHECK(!reader.next(), "nothing is read after a failure");
        FUZZ_CHECK(reader.buffered() == 0, "input after a failure is not kept");
    } else {
        FUZZ_CHECK(reader.buffered() == stream.size() - taken, "holds exactly the unfinished frame");
    }
    return 0;
}
