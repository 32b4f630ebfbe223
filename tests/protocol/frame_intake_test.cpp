#include "common/protocol/frame_intake.hpp"

#include "common/wire/error.hpp"

#include <catch2/catch.hpp>

using namespace agentlb;
using protocol::BadInput;
using protocol::FrameIntake;
using protocol::NeedMore;

namespace {

std::string frame_of(const wire::Message& message) {
    return wire::encode_frame(wire::encode_message(message)).value();
}

}  // namespace

TEST_CASE("intake: frames split anywhere come out as messages, in order") {
    const std::string bytes = frame_of(wire::Ping{1}) + frame_of(wire::Ack{7});
    FrameIntake intake;
    for (char c : bytes) {
        intake.feed(&c, 1);
    }
    auto first = intake.next();
    REQUIRE(std::holds_alternative<wire::Message>(first));
    CHECK(std::get<wire::Message>(first) == wire::Message{wire::Ping{1}});
    auto second = intake.next();
    REQUIRE(std::holds_alternative<wire::Message>(second));
    CHECK(std::get<wire::Message>(second) == wire::Message{wire::Ack{7}});
    CHECK(std::holds_alternative<NeedMore>(intake.next()));
    CHECK(intake.idle());
}

TEST_CASE("intake: a bad message is reported with its field, and stays reported") {
    const std::string payload = R"({"type":"ack","v":1,"seq":"x"})";
    std::string bytes = {0, 0, 0, static_cast<char>(payload.size())};
    bytes += payload + frame_of(wire::Ping{2});
    FrameIntake intake;
    intake.feed(bytes.data(), bytes.size());
    auto bad = intake.next();
    REQUIRE(std::holds_alternative<BadInput>(bad));
    CHECK(std::get<BadInput>(bad).detail.find("\"seq\"") != std::string::npos);
    // The ping after it is not trusted.
    CHECK(std::holds_alternative<BadInput>(intake.next()));
}

TEST_CASE("intake: an oversized frame is refused before its payload arrives") {
    const std::string header = {0x7f, 0, 0, 0};
    FrameIntake intake;
    intake.feed(header.data(), header.size());
    auto bad = intake.next();
    REQUIRE(std::holds_alternative<BadInput>(bad));
    CHECK(std::get<BadInput>(bad).code == wire::errc::frame_too_large);
    CHECK(std::get<BadInput>(bad).detail.rfind("bad frame: ", 0) == 0);
}
