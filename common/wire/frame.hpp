#pragma once

// Framing: a 4-byte big-endian payload length, then the payload (a JSON
// object, see messages.hpp). Frames never exceed kMaxPayload bytes of payload.

#include "common/util/result.hpp"

#include <boost/system/error_code.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::wire {

inline constexpr std::size_t kMaxPayload = 65536;
inline constexpr std::size_t kFrameHeaderSize = 4;

// Incremental decoder for one connection's byte stream.
//
// The caller feeds whatever it read from the socket (one byte, or many frames
// at once), then calls next() until it returns nothing. The length field is
// checked as soon as its 4 bytes are in, before any payload byte is kept, so
// a peer announcing 2 GiB costs nothing. Memory held: the complete frames
// not yet taken by next() (at most what the caller fed since it last drained)
// plus one unfinished frame (at most kMaxPayload + 4 bytes); the buffer of an
// unfinished frame grows with the bytes that actually arrived, not with the
// announced length.
//
// After an error the decoder stays failed: further input is ignored and
// next() reports the error (after handing out the frames completed before it).
class FrameDecoder {
public:
    void feed(const void* data, std::size_t size);

    // A complete payload, or nothing with `ec` cleared (need more bytes) or
    // set to errc::frame_too_large / errc::empty_frame.
    std::optional<std::string> next(boost::system::error_code& ec);

    // True at a frame boundary: no bytes of an unfinished frame are held and
    // the decoder has not failed. A stream that ends while !idle() was cut
    // mid-frame.
    bool idle() const noexcept { return !error_ && header_size_ == 0; }

    bool failed() const noexcept { return static_cast<bool>(error_); }

    // Bytes held: undelivered complete payloads plus the unfinished frame.
    std::size_t buffered_bytes() const noexcept { return ready_bytes_ + header_size_ + partial_.size(); }

private:
    void fail(boost::system::error_code ec);
    void append_payload(const char* data, std::size_t size);

    std::array<unsigned char, kFrameHeaderSize> header_{};
    std::size_t header_size_ = 0;     // header bytes of the unfinished frame
    std::size_t payload_length_ = 0;  // valid once header_size_ == kFrameHeaderSize
    std::string partial_;             // payload bytes of the unfinished frame
    std::vector<std::string> ready_;  // complete payloads; next() takes from ready_head_
    std::size_t ready_head_ = 0;
    std::size_t ready_bytes_ = 0;
    boost::system::error_code error_;
};

// Header + payload, ready to write. Refuses an empty payload (the decoder
// would reject it) and one over kMaxPayload.
Result<std::string> encode_frame(std::string_view payload);

}  // namespace agentlb::wire
