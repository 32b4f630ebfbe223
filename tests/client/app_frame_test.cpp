// The local protocol of --app-socket (client/agentlb_client.hpp), byte for
// byte: the layout other languages implement, the limits, and the errors a
// bad frame gets.

#include "client/agentlb_client.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace agentlb::client;

namespace {

Frame sample_message() {
    Frame frame;
    frame.kind = FrameKind::message;
    frame.epoch = 0x0102030405060708;
    frame.sequence = 9;
    frame.floor = 7;
    frame.reply_to = 3;
    frame.peer = "kvm-01";
    frame.content_type = "application/json";
    frame.payload = std::string("{\"cmd\":\"StartCommand\"}\0\xff", 25);
    return frame;
}

std::string encoded(const Frame& frame) {
    std::string out;
    std::string error;
    REQUIRE(encode_frame(frame, out, error));
    CHECK(error.empty());
    return out;
}

std::vector<Frame> read_all(FrameReader& reader) {
    std::vector<Frame> frames;
    while (auto frame = reader.next()) {
        frames.push_back(*frame);
    }
    return frames;
}

std::string raw_frame(std::string_view body) {
    std::string out;
    const auto n = body.size();
    out.push_back(static_cast<char>(n >> 24));
    out.push_back(static_cast<char>((n >> 16) & 0xff));
    out.push_back(static_cast<char>((n >> 8) & 0xff));
    out.push_back(static_cast<char>(n & 0xff));
    out += body;
    return out;
}

}  // namespace

TEST_CASE("An app frame is laid out as documented, big-endian, names before the payload") {
    const Frame frame = sample_message();
    const std::string bytes = encoded(frame);
    const std::size_t body = kFixedBodySize + 6 + 16 + 25;
    REQUIRE(bytes.size() == kLengthSize + body);
    CHECK(bytes.substr(0, 4) == std::string("\0\0\0", 3) + static_cast<char>(body));
    CHECK(bytes[4] == 3);  // message
    CHECK(bytes.substr(5, 8) == "\x01\x02\x03\x04\x05\x06\x07\x08");
    CHECK(bytes.substr(13, 8) == std::string(7, '\0') + "\x09");
    CHECK(bytes.substr(21, 8) == std::string(7, '\0') + "\x07");
    CHECK(bytes.substr(29, 8) == std::string(7, '\0') + "\x03");
    CHECK(bytes[37] == 6);
    CHECK(bytes.substr(38, 6) == "kvm-01");
    CHECK(bytes[44] == 16);
    CHECK(bytes.substr(45, 16) == "application/json");
    CHECK(bytes.substr(61) == frame.payload);
}

TEST_CASE("Every kind of app frame reads back as it was written, however the bytes are cut") {
    std::vector<Frame> frames;
    frames.push_back(Frame{FrameKind::hello, 1700000000000000, 0, 0, 0, "cloudstack-mgmt", "", ""});
    frames.push_back(Frame{FrameKind::welcome, 0, 0, 0, 0, "ms1", "", ""});
    frames.push_back(sample_message());
    frames.push_back(Frame{FrameKind::ack, 5, 12, 0, 0, "kvm-02", "", ""});
    frames.push_back(Frame{FrameKind::undeliverable, 5, 13, 0, 0, "kvm-03", "", "host_unknown"});
    frames.push_back(Frame{FrameKind::error, 0, 0, 0, 0, "", "", "queue full"});
    Frame largest = sample_message();
    largest.payload.assign(kMaxPayload, 'x');
    largest.peer.assign(kMaxNameLength, 'p');
    largest.content_type.assign(kMaxNameLength, 't');
    frames.push_back(largest);

    std::string stream;
    for (const auto& frame : frames) {
        stream += encoded(frame);
    }

    SECTION("all at once") {
        FrameReader reader;
        reader.feed(stream.data(), stream.size());
        CHECK(read_all(reader) == frames);
        CHECK(reader.buffered() == 0);
        CHECK_FALSE(reader.failed());
    }
    SECTION("a byte at a time") {
        FrameReader reader;
        std::vector<Frame> got;
        for (const char c : stream) {
            reader.feed(&c, 1);
            for (auto& frame : read_all(reader)) {
                got.push_back(frame);
            }
        }
        CHECK(got == frames);
        CHECK(reader.buffered() == 0);
    }
    SECTION("an unfinished frame waits for the rest") {
        FrameReader reader;
        reader.feed(stream.data(), 10);
        CHECK_FALSE(reader.next());
        CHECK(reader.buffered() == 10);
        CHECK_FALSE(reader.failed());
    }
}

TEST_CASE("A payload over the limit is refused before it is sent") {
    Frame frame = sample_message();
    frame.payload.assign(kMaxPayload + 1, 'x');
    std::string out = "kept";
    std::string error;
    CHECK_FALSE(encode_frame(frame, out, error));
    CHECK(out == "kept");
    CHECK(error == "message: payload of 32769 bytes: at most 32768");
}

TEST_CASE("A 10 MiB frame is refused from its length alone, and the reader stays failed") {
    std::string header;
    const std::size_t announced = 10 * 1024 * 1024 + kFixedBodySize;
    header.push_back(static_cast<char>(announced >> 24));
    header.push_back(static_cast<char>((announced >> 16) & 0xff));
    header.push_back(static_cast<char>((announced >> 8) & 0xff));
    header.push_back(static_cast<char>(announced & 0xff));
    FrameReader reader;
    reader.feed(header.data(), header.size());
    CHECK_FALSE(reader.next());
    REQUIRE(reader.failed());
    CHECK(reader.error() == "frame of 10485795 bytes: at most 33313 (a payload of at most 32768)");
    CHECK(reader.buffered() == 0);

    const std::string good = encoded(sample_message());
    reader.feed(good.data(), good.size());
    CHECK_FALSE(reader.next());
    CHECK(reader.buffered() == 0);
}

TEST_CASE("Each kind refuses the fields it does not use and requires those it does") {
    const auto problem = [](Frame frame) { return frame_problem(frame); };
    CHECK(problem(sample_message()).empty());

    Frame hello{FrameKind::hello, 0, 0, 0, 0, "app", "", ""};
    CHECK(problem(hello) == "hello: epoch is missing");
    hello.epoch = 1;
    CHECK(problem(hello).empty());
    hello.payload = "x";
    CHECK(problem(hello) == "hello: has a payload, which it does not use");

    Frame message = sample_message();
    message.floor = 10;
    CHECK(problem(message) == "message: floor 10 is past sequence 9");
    message.floor = 0;
    CHECK(problem(message) == "message: floor is missing");
    message = sample_message();
    message.peer = "";
    CHECK(problem(message) == "message: peer is missing");

    Frame ack{FrameKind::ack, 1, 2, 0, 4, "kvm-01", "", ""};
    CHECK(problem(ack) == "ack: has a reply_to, which it does not use");
    ack.reply_to = 0;
    ack.sequence = 0;
    CHECK(problem(ack) == "ack: sequence is missing");

    Frame error{FrameKind::error, 0, 0, 0, 0, "", "", "bye"};
    CHECK(problem(error).empty());
    error.epoch = 3;
    CHECK(problem(error) == "error: has a epoch, which it does not use");

    Frame unknown = sample_message();
    unknown.kind = static_cast<FrameKind>(42);
    CHECK(problem(unknown) == "unknown frame kind 42");
}

TEST_CASE("Names are printable ASCII of bounded length, so that they are safe to log") {
    Frame frame = sample_message();
    frame.peer = "kvm 01";
    CHECK(frame_problem(frame) == "message: peer has a byte that is not printable ASCII (or is a space)");
    frame.peer = "kvm\x1b[2J";
    CHECK(frame_problem(frame) == "message: peer has a byte that is not printable ASCII (or is a space)");
    frame.peer = std::string(kMaxNameLength + 1, 'a');
    CHECK(frame_problem(frame) == "message: peer of 256 bytes: at most 255");
    frame = sample_message();
    frame.content_type = "text/plain; charset=utf-8";
    CHECK(frame_problem(frame).empty());
    frame.content_type = "text/\x7f";
    CHECK(frame_problem(frame) == "message: content type has a byte that is not printable ASCII");
}

TEST_CASE("A frame whose body is cut or malformed fails the reader with what was wrong") {
    const std::string good = encoded(sample_message());
    const std::string body = good.substr(kLengthSize);

    SECTION("shorter than the fixed fields") {
        FrameReader reader;
        const std::string bytes = raw_frame(body.substr(0, 20));
        reader.feed(bytes.data(), bytes.size());
        CHECK_FALSE(reader.next());
        CHECK(reader.error() == "frame body of 20 bytes: at least 35");
    }
    SECTION("a name longer than the body") {
        std::string cut = body.substr(0, kFixedBodySize - 2);
        cut.push_back(static_cast<char>(200));
        cut += "short";
        cut.push_back('\0');
        FrameReader reader;
        const std::string bytes = raw_frame(cut);
        reader.feed(bytes.data(), bytes.size());
        CHECK_FALSE(reader.next());
        CHECK(reader.error() == "frame body ends inside its names");
    }
    SECTION("a kind this version does not know, after a good frame") {
        std::string bad = body;
        bad[0] = 9;
        FrameReader reader;
        const std::string bytes = good + raw_frame(bad) + good;
        reader.feed(bytes.data(), bytes.size());
        CHECK(reader.next() == sample_message());
        CHECK_FALSE(reader.next());
        CHECK(reader.error() == "unknown frame kind 9");
        CHECK_FALSE(reader.next());
    }
}
