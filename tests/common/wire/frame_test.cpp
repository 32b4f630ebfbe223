#include "common/wire/frame.hpp"

#include "common/wire/error.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace wire = agentlb::wire;

namespace {

std::string header(std::uint32_t n) {
    return {static_cast<char>(n >> 24),
            static_cast<char>(n >> 16),
            static_cast<char>(n >> 8),
            static_cast<char>(n)};
}

std::string frame(const std::string& payload) {
    auto encoded = wire::encode_frame(payload);
    REQUIRE(encoded.ok());
    return *encoded;
}

void feed(wire::FrameDecoder& decoder, const std::string& bytes) {
    decoder.feed(bytes.data(), bytes.size());
}

// Takes every complete payload; fails the test on a decoder error.
std::vector<std::string> drain(wire::FrameDecoder& decoder) {
    std::vector<std::string> out;
    boost::system::error_code ec;
    while (auto payload = decoder.next(ec)) {
        out.push_back(std::move(*payload));
    }
    REQUIRE_FALSE(ec);
    return out;
}

}  // namespace

TEST_CASE("encode_frame writes a big-endian length before the payload") {
    CHECK(frame("abc") == std::string("\0\0\0\3abc", 7));
    CHECK(frame(std::string(300, 'y')).substr(0, 4) == std::string("\0\0\x01\x2c", 4));
    CHECK(frame(std::string(wire::kMaxPayload, 'z')).substr(0, 4) == std::string("\0\x01\0\0", 4));
}

TEST_CASE("encode_frame refuses empty and oversized payloads") {
    auto empty = wire::encode_frame("");
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error().find("empty") != std::string::npos);

    auto big = wire::encode_frame(std::string(wire::kMaxPayload + 1, 'x'));
    REQUIRE_FALSE(big.ok());
    CHECK(big.error().find("65537") != std::string::npos);
    CHECK(big.error().find("65536") != std::string::npos);
}

TEST_CASE("FrameDecoder reassembles three frames split at every byte boundary") {
    const std::vector<std::string> payloads = {"{}", std::string(300, 'a'), std::string(1000, 'b')};
    std::string stream;
    for (const auto& p : payloads) {
        stream += frame(p);
    }

    for (std::size_t split = 0; split <= stream.size(); ++split) {
        wire::FrameDecoder decoder;
        std::vector<std::string> got;
        decoder.feed(stream.data(), split);
        for (auto& p : drain(decoder)) {
            got.push_back(std::move(p));
        }
        decoder.feed(stream.data() + split, stream.size() - split);
        for (auto& p : drain(decoder)) {
            got.push_back(std::move(p));
        }
        INFO("split at byte " << split);
        REQUIRE(got == payloads);
        REQUIRE(decoder.idle());
        REQUIRE(decoder.buffered_bytes() == 0);
    }
}

TEST_CASE("FrameDecoder accepts a stream fed one byte at a time") {
    const std::vector<std::string> payloads = {"x", std::string(wire::kMaxPayload, 'm'), "{\"a\":1}"};
    std::string stream;
    for (const auto& p : payloads) {
        stream += frame(p);
    }
    wire::FrameDecoder decoder;
    std::vector<std::string> got;
    for (std::size_t i = 0; i < stream.size(); ++i) {
        decoder.feed(&stream[i], 1);
        // Bounded by one maximal frame, however the bytes arrive.
        REQUIRE(decoder.buffered_bytes() <= wire::kMaxPayload + wire::kFrameHeaderSize);
        for (auto& p : drain(decoder)) {
            got.push_back(std::move(p));
        }
    }
    CHECK(got == payloads);
    CHECK(decoder.idle());
}

TEST_CASE("FrameDecoder returns many frames from one feed in order") {
    std::vector<std::string> payloads;
    std::string stream;
    for (int i = 0; i < 100; ++i) {
        payloads.push_back("{\"n\":" + std::to_string(i) + "}");
        stream += frame(payloads.back());
    }
    wire::FrameDecoder decoder;
    feed(decoder, stream);
    CHECK(decoder.idle());
    CHECK(decoder.buffered_bytes() > 0);
    CHECK(drain(decoder) == payloads);
    CHECK(decoder.buffered_bytes() == 0);

    boost::system::error_code ec = wire::errc::empty_frame;
    CHECK_FALSE(decoder.next(ec).has_value());
    CHECK_FALSE(ec);
}

TEST_CASE("FrameDecoder refuses an oversized length from the header alone") {
    wire::FrameDecoder decoder;
    feed(decoder, header(0x80000000u));  // 2 GiB announced, nothing else sent
    boost::system::error_code ec;
    CHECK_FALSE(decoder.next(ec).has_value());
    CHECK(ec == wire::errc::frame_too_large);
    CHECK(decoder.failed());
    CHECK_FALSE(decoder.idle());
    CHECK(decoder.buffered_bytes() == 0);
}

TEST_CASE("FrameDecoder refuses one byte over the limit and stays failed") {
    wire::FrameDecoder decoder;
    feed(decoder, header(wire::kMaxPayload + 1));
    feed(decoder, std::string(100, 'x'));
    feed(decoder, frame("{}"));  // a good frame after the error is ignored
    boost::system::error_code ec;
    CHECK_FALSE(decoder.next(ec).has_value());
    CHECK(ec == wire::errc::frame_too_large);
    CHECK(decoder.buffered_bytes() == 0);
    CHECK_FALSE(decoder.next(ec).has_value());
    CHECK(ec == wire::errc::frame_too_large);
}

TEST_CASE("FrameDecoder accepts a payload of exactly the limit") {
    wire::FrameDecoder decoder;
    feed(decoder, header(wire::kMaxPayload) + std::string(wire::kMaxPayload, 'q'));
    const auto got = drain(decoder);
    REQUIRE(got.size() == 1);
    CHECK(got[0].size() == wire::kMaxPayload);
}

TEST_CASE("FrameDecoder refuses a zero length") {
    wire::FrameDecoder decoder;
    feed(decoder, header(0));
    boost::system::error_code ec;
    CHECK_FALSE(decoder.next(ec).has_value());
    CHECK(ec == wire::errc::empty_frame);
    CHECK(decoder.failed());
}

TEST_CASE("FrameDecoder hands out frames completed before an error, then the error") {
    wire::FrameDecoder decoder;
    feed(decoder, frame("first") + header(0) + frame("never"));
    boost::system::error_code ec;
    auto payload = decoder.next(ec);
    REQUIRE(payload.has_value());
    CHECK(*payload == "first");
    CHECK_FALSE(ec);
    CHECK_FALSE(decoder.next(ec).has_value());
    CHECK(ec == wire::errc::empty_frame);
}

TEST_CASE("FrameDecoder waits for a truncated payload") {
    wire::FrameDecoder decoder;
    CHECK(decoder.idle());
    feed(decoder, header(10) + "12345");
    boost::system::error_code ec;
    CHECK_FALSE(decoder.next(ec).has_value());
    CHECK_FALSE(ec);
    CHECK_FALSE(decoder.idle());
    CHECK_FALSE(decoder.failed());
    CHECK(decoder.buffered_bytes() == 9);

    feed(decoder, "67890");
    auto payload = decoder.next(ec);
    REQUIRE(payload.has_value());
    CHECK(*payload == "1234567890");
    CHECK(decoder.idle());
}

TEST_CASE("FrameDecoder is not idle with only part of a header") {
    wire::FrameDecoder decoder;
    feed(decoder, std::string("\0\0", 2));
    boost::system::error_code ec;
    CHECK_FALSE(decoder.next(ec).has_value());
    CHECK_FALSE(ec);
    CHECK_FALSE(decoder.idle());
}

TEST_CASE("Wire error codes have their own category and messages") {
    const boost::system::error_code ec = wire::errc::frame_too_large;
    CHECK(ec.category() == wire::wire_category());
    CHECK(std::string(ec.category().name()) == "agentlb.wire");
    CHECK(ec.message().find("65536") != std::string::npos);
    CHECK(ec != wire::errc::empty_frame);
    CHECK(wire::make_error_code(wire::errc::unknown_type).message() == "unknown message type");
    for (int i = 1; i <= static_cast<int>(wire::errc::invalid_value); ++i) {
        CHECK_FALSE(wire::wire_category().message(i).empty());
    }
}
