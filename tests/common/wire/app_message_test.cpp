// The agent port's `app` message (issue 19): the JSON it is on the wire, the
// local frame it stands for, and the refusal of what the local protocol
// would refuse.

#include "common/wire/error.hpp"
#include "common/wire/frame.hpp"
#include "common/wire/messages.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>

namespace wire = agentlb::wire;
namespace client = agentlb::client;
using nlohmann::json;

namespace {

struct AppDecoding {
    boost::system::error_code ec;
    std::string detail;
    wire::Message message;
};

AppDecoding decode_app(const json& j) {
    AppDecoding d;
    d.message = wire::Reissue{};
    d.ec = wire::decode_message(j.dump(), d.message, d.detail);
    return d;
}

json app_json() {
    return json::parse(R"({"type":"app","v":1,"kind":"message","app":"cloudstack","epoch":5,"sequence":9,
        "floor":7,"reply_to":3,"content_type":"text/plain","payload":"aGk="})");
}

}  // namespace

TEST_CASE("app: the payload is base64 on the wire and unused fields are left out") {
    const wire::App message{"message", "cloudstack", 5, 9, 7, 3, "text/plain", "hi"};
    CHECK(json::parse(wire::encode_message(message)) == app_json());
    const wire::App ack{"ack", "cloudstack", 5, 9, 0, 0, "", ""};
    CHECK(json::parse(wire::encode_message(ack)) ==
          json::parse(R"({"type":"app","v":1,"kind":"ack","app":"cloudstack","epoch":5,"sequence":9})"));
    const auto decoded = decode_app(app_json());
    REQUIRE_FALSE(decoded.ec);
    CHECK(std::get<wire::App>(decoded.message) == message);
}

TEST_CASE("app: the largest payload crosses, one byte more is refused naming the limit") {
    wire::App message{"message", "cloudstack", 5, 9, 1, 0, "", std::string(client::kMaxPayload, '\xfe')};
    wire::Message decoded;
    std::string detail;
    REQUIRE_FALSE(wire::decode_message(wire::encode_message(message), decoded, detail));
    CHECK(std::get<wire::App>(decoded) == message);
    // With the longest names, it still fits in one frame of the agent port.
    message.app.assign(client::kMaxNameLength, 'a');
    message.content_type.assign(client::kMaxNameLength, 't');
    CHECK(wire::encode_frame(wire::encode_message(message)).ok());

    message.payload.push_back('x');
    const auto refused = decode_app(json::parse(wire::encode_message(message)));
    CHECK(refused.ec == wire::errc::invalid_value);
    CHECK(refused.detail == "\"app\": message: payload of 32769 bytes: at most 32768");
    CHECK(std::holds_alternative<wire::Reissue>(refused.message));

    // Far beyond: refused from the text's length, before any of it is decoded.
    message.payload.assign(3 * client::kMaxPayload, 'x');
    const auto far = decode_app(json::parse(wire::encode_message(message)));
    CHECK(far.detail ==
          "field \"payload\" of \"app\": of 131072 base64 characters: at most 32768 bytes once decoded");
}

TEST_CASE("app: what the local protocol refuses is refused on the wire, saying what") {
    const auto refused = [](const char* field, json value) {
        auto j = app_json();
        j[field] = std::move(value);
        const auto d = decode_app(j);
        CHECK(d.ec == wire::errc::invalid_value);
        return d.detail;
    };
    CHECK(refused("payload", "aGk") == "field \"payload\" of \"app\": is not base64 (RFC 4648, padded)");
    CHECK(refused("kind", "hello") ==
          "\"app\": kind \"hello\" is not one of \"message\", \"ack\", \"undeliverable\"");
    CHECK(refused("floor", 10) == "\"app\": message: floor 10 is past sequence 9");
    CHECK(refused("app", "") == "\"app\": message: peer is missing");
    CHECK(refused("app", "cloud stack") ==
          "\"app\": message: peer has a byte that is not printable ASCII (or is a space)");
    CHECK(refused("content_type", "a\nb") ==
          "\"app\": message: content type has a byte that is not printable ASCII");

    auto ack = app_json();
    ack["kind"] = "ack";
    const auto d = decode_app(ack);
    CHECK(d.detail == "\"app\": ack: has a floor, which it does not use");
}

TEST_CASE("app: a local frame and an app message stand for each other") {
    const client::Frame frame{client::FrameKind::message, 5, 9, 7, 3, "cloudstack", "text/plain", "hi"};
    const auto message = wire::app_message(frame);
    REQUIRE(message);
    CHECK(*message == wire::App{"message", "cloudstack", 5, 9, 7, 3, "text/plain", "hi"});
    CHECK(wire::app_frame(*message) == frame);

    // Kinds that stay on the local socket, and numbers JSON's int64 cannot carry.
    CHECK_FALSE(wire::app_message(client::Frame{client::FrameKind::hello, 1, 0, 0, 0, "app", "", ""}));
    auto huge = frame;
    huge.epoch = std::uint64_t{1} << 63;
    CHECK_FALSE(wire::app_message(huge));
}

TEST_CASE("hello announces an app socket only when it has one") {
    auto hello = wire::Hello{"kvm-01", "zone-a", "", 30, "0.3.0"};
    CHECK_FALSE(json::parse(wire::encode_message(hello)).contains("app"));
    hello.app = true;
    CHECK(json::parse(wire::encode_message(hello)).at("app") == true);
    wire::Message decoded;
    std::string detail;
    REQUIRE_FALSE(wire::decode_message(wire::encode_message(hello), decoded, detail));
    CHECK(std::get<wire::Hello>(decoded).app);
}

TEST_CASE("relay: the app message's fields, with where it goes and the host, checked the same way") {
    const wire::Relay relay{"app", "kvm-01", wire::App{"ack", "cloudstack", 5, 9, 0, 0, "", ""}};
    auto j = json::parse(wire::encode_message(relay));
    CHECK(j == json::parse(R"({"type":"relay","v":1,"to":"app","host":"kvm-01","kind":"ack",
        "app":"cloudstack","epoch":5,"sequence":9})"));
    const auto decoded = decode_app(j);
    REQUIRE_FALSE(decoded.ec);
    CHECK(std::get<wire::Relay>(decoded.message) == relay);

    const auto refused = [&j](const char* field, json value) {
        auto changed = j;
        changed[field] = std::move(value);
        const auto d = decode_app(changed);
        CHECK(d.ec == wire::errc::invalid_value);
        CHECK(std::holds_alternative<wire::Reissue>(d.message));
        return d.detail;
    };
    CHECK(refused("to", "agent") == "field \"to\" of \"relay\": must be \"host\" or \"app\"");
    CHECK(refused("host", "") == "field \"host\" of \"relay\": the name is missing");
    CHECK(refused("host", "kvm 01") ==
          "field \"host\" of \"relay\": the name has a byte that is not printable ASCII (or is a space)");
    CHECK(refused("host", std::string(256, 'h')) ==
          "field \"host\" of \"relay\": the name of 256 bytes: at most 255");
    CHECK(refused("kind", "error") ==
          "\"relay\": kind \"error\" is not one of \"message\", \"ack\", \"undeliverable\"");
    CHECK(refused("floor", 1) == "\"relay\": ack: has a floor, which it does not use");
}
