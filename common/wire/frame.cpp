#include "common/wire/frame.hpp"

#include "common/wire/error.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace agentlb::wire {

void FrameDecoder::feed(const void* data, std::size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    const auto* end = p + size;
    while (p != end && !error_) {
        if (header_size_ < kFrameHeaderSize) {
            const auto take = std::min<std::size_t>(kFrameHeaderSize - header_size_, end - p);
            std::memcpy(header_.data() + header_size_, p, take);
            header_size_ += take;
            p += take;
            if (header_size_ < kFrameHeaderSize) {
                break;
            }
            payload_length_ = (std::uint32_t{header_[0]} << 24) | (std::uint32_t{header_[1]} << 16) |
                              (std::uint32_t{header_[2]} << 8) | std::uint32_t{header_[3]};
            if (payload_length_ == 0) {
                fail(errc::empty_frame);
            } else if (payload_length_ > kMaxPayload) {
                fail(errc::frame_too_large);
            }
            continue;
        }
        const auto take = std::min<std::size_t>(payload_length_ - partial_.size(), end - p);
        append_payload(reinterpret_cast<const char*>(p), take);
        p += take;
        if (partial_.size() == payload_length_) {
            ready_bytes_ += partial_.size();
            ready_.push_back(std::exchange(partial_, std::string()));
            header_size_ = 0;
        }
    }
}

std::optional<std::string> FrameDecoder::next(boost::system::error_code& ec) {
    if (ready_head_ < ready_.size()) {
        ec = {};
        std::string payload = std::move(ready_[ready_head_++]);
        ready_bytes_ -= payload.size();
        if (ready_head_ == ready_.size()) {
            ready_.clear();
            ready_head_ = 0;
        }
        return payload;
    }
    ec = error_;
    return std::nullopt;
}

void FrameDecoder::fail(boost::system::error_code ec) {
    error_ = ec;
    header_size_ = 0;
    partial_ = std::string();
}

void FrameDecoder::append_payload(const char* data, std::size_t size) {
    // Grow geometrically with what arrived, but never beyond the announced
    // length: std::string's own doubling could reach twice kMaxPayload.
    const auto needed = partial_.size() + size;
    if (needed > partial_.capacity()) {
        partial_.reserve(std::min(payload_length_, std::max(needed, 2 * partial_.capacity())));
    }
    partial_.append(data, size);
}

Result<std::string> encode_frame(std::string_view payload) {
    if (payload.empty()) {
        return fail("frame payload is empty");
    }
    if (payload.size() > kMaxPayload) {
        return fail("frame payload of " + std::to_string(payload.size()) + " bytes exceeds the limit of " +
                    std::to_string(kMaxPayload) + " bytes");
    }
    const auto n = static_cast<std::uint32_t>(payload.size());
    std::string frame;
    frame.reserve(kFrameHeaderSize + payload.size());
    frame.push_back(static_cast<char>((n >> 24) & 0xff));
    frame.push_back(static_cast<char>((n >> 16) & 0xff));
    frame.push_back(static_cast<char>((n >> 8) & 0xff));
    frame.push_back(static_cast<char>(n & 0xff));
    frame.append(payload);
    return frame;
}

}  // namespace agentlb::wire
