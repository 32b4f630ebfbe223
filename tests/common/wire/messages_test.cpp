#include "common/wire/messages.hpp"

#include "common/wire/error.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

namespace wire = agentlb::wire;
using nlohmann::json;

namespace {

struct Decoded {
    boost::system::error_code ec;
    std::string detail;
    wire::Message message;
};

Decoded decode(const std::string& payload) {
    Decoded d;
    d.message = wire::Ping{424242};  // sentinel: a failed decode must leave it alone
    d.ec = wire::decode_message(payload, d.message, d.detail);
    return d;
}

Decoded decode(const json& j) {
    return decode(j.dump());
}

void check_round_trip(const wire::Message& original) {
    const auto payload = wire::encode_message(original);
    INFO(payload);
    const auto j = json::parse(payload);
    CHECK(j.at("type") == std::string(wire::message_type(original)));
    CHECK(j.at("v") == 1);
    auto d = decode(payload);
    REQUIRE_FALSE(d.ec);
    CHECK(d.detail.empty());
    CHECK(d.message == original);
}

// One filled-in example of every message type.
std::vector<wire::Message> samples() {
    const wire::MsList list{7, {"ms1:8250", "[fd00::1]:8250", "10.0.0.3"}, "roundrobin", 60, {"ms2"}};
    return {
        wire::Hello{"kvm-01", "zone-a", "ms1,ms2@roundrobin", 30, "0.1.0"},
        wire::Ping{1},
        wire::Ping{2, 1500},
        wire::Pong{9007199254740993},  // beyond double precision: must stay exact
        wire::Ack{7},
        wire::Renew{"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"},
        wire::Welcome{12, "ms1", 10, list},
        wire::MsList{list},
        wire::Migrate{"maintenance", {"ms1", "ms3"}, {}},
        wire::Migrate{"rebalance", {}, {"ms1", "ms2"}},
        wire::Certificate{"-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n", "CA PEM"},
        wire::Error{"identity_mismatch", "certificate names \"kvm-01\", hello names \"kvm-02\""},
        wire::EnrollRequest{"tok-123", "CSR PEM", "kvm-02", ""},
        wire::EnrollResponse{3, "kvm-02", "default", "CERT", "CA", {"ms1", "ms2"}, "static", 0},
        wire::RenewExpired{"EXPIRED CERT PEM", "CSR PEM", "MEUCIQ=="},
        wire::Hello{"kvm-03", "zone-a", "", 30, "0.2.0", {"sha256:aa", "sha256:bb"}},
        wire::Trust{{"CA 1 PEM", "CA 2 PEM"}},
        wire::Reissue{},
        wire::App{"message", "cloudstack", 5, 9, 7, 3, "application/json", std::string("{}\0\xff", 4)},
        wire::Relay{
            "host", "kvm-01", wire::App{"message", "cloudstack", 5, 9, 7, 3, "text/plain", "start vm-1"}},
    };
}

}  // namespace

TEST_CASE("Every message type survives encode and decode") {
    const auto all = samples();
    std::set<std::size_t> kinds;
    for (const auto& m : all) {
        kinds.insert(m.index());
        check_round_trip(m);
    }
    CHECK(kinds.size() == std::variant_size_v<wire::Message>);
}

TEST_CASE("Optional parts round-trip when empty") {
    check_round_trip(wire::Welcome{1, "ms1", 10, std::nullopt});
    check_round_trip(wire::Migrate{"shutdown", {}, {}});
    check_round_trip(wire::Migrate{"rebalance", {"ms3"}, {"ms1"}});
    check_round_trip(wire::Hello{"h", "", "", 0, ""});
    check_round_trip(wire::MsList{0, {}, "static", 0, {}});
    check_round_trip(wire::Hello{"h\u00e9\u4e2d", "z\n\t\"\\", "a@b", 1, "v"});
}

TEST_CASE("welcome and ms_list carry the optional renewal policy") {
    const wire::Renewal policy{"p384", 500, false};
    check_round_trip(wire::Welcome{1, "ms1", 10, std::nullopt, policy});
    check_round_trip(wire::MsList{3, {"a"}, "static", 0, {}, policy});
    auto j = json::parse(wire::encode_message(wire::MsList{3, {"a"}, "static", 0, {}, policy}));
    CHECK(j["renewal"] == json::parse(R"({"key_type":"p384","fraction_permille":500,"automatic":false})"));
    // Absent: nothing on the wire, nothing decoded (older servers and agents).
    j = json::parse(wire::encode_message(wire::Welcome{1, "ms1", 10, std::nullopt}));
    CHECK_FALSE(j.contains("renewal"));
    // A malformed policy is refused, naming the field.
    auto bad = decode(std::string(R"({"type":"welcome","v":1,"host_id":1,"server":"s","heartbeat_interval":10,
        "renewal":{"key_type":"p256","fraction_permille":670,"automatic":"yes"}})"));
    REQUIRE(bad.ec);
    CHECK_THAT(bad.detail, Catch::Contains("renewal.automatic"));
}

TEST_CASE("message_type names match the protocol") {
    CHECK(wire::message_type(wire::Hello{}) == "hello");
    CHECK(wire::message_type(wire::Ping{}) == "ping");
    CHECK(wire::message_type(wire::Pong{}) == "pong");
    CHECK(wire::message_type(wire::Ack{}) == "ack");
    CHECK(wire::message_type(wire::Renew{}) == "renew");
    CHECK(wire::message_type(wire::Welcome{}) == "welcome");
    CHECK(wire::message_type(wire::MsList{}) == "ms_list");
    CHECK(wire::message_type(wire::Migrate{}) == "migrate");
    CHECK(wire::message_type(wire::Certificate{}) == "certificate");
    CHECK(wire::message_type(wire::Error{}) == "error");
    CHECK(wire::message_type(wire::EnrollRequest{}) == "enroll");
    CHECK(wire::message_type(wire::EnrollResponse{}) == "enrolled");
    CHECK(wire::message_type(wire::Trust{}) == "trust");
    CHECK(wire::message_type(wire::Reissue{}) == "reissue");
}

TEST_CASE("Encoded field names are the documented ones") {
    auto j = json::parse(
        wire::encode_message(wire::Welcome{5, "ms1", 10, wire::MsList{2, {"a"}, "static", 0, {}}}));
    CHECK(j == json::parse(R"({"type":"welcome","v":1,"host_id":5,"server":"ms1","heartbeat_interval":10,
        "correction":{"seq":2,"list":["a"],"algorithm":"static","interval":0,"avoid":[]}})"));
    j = json::parse(wire::encode_message(wire::Hello{"h", "z", "a,b@shuffle", 5, "1.2"}));
    CHECK(
        j ==
        json::parse(
            R"({"type":"hello","v":1,"name":"h","zone":"z","list":"a,b@shuffle","interval":5,"version":"1.2"})"));
    j = json::parse(wire::encode_message(wire::Hello{"h", "z", "", 5, "1.2", {"sha256:ab"}}));
    CHECK(j.at("trusts") == json::array({"sha256:ab"}));
    j = json::parse(wire::encode_message(wire::Trust{{"PEM"}}));
    CHECK(j == json::parse(R"({"type":"trust","v":1,"cas":["PEM"]})"));
    j = json::parse(wire::encode_message(wire::Reissue{}));
    CHECK(j == json::parse(R"({"type":"reissue","v":1})"));
    j = json::parse(wire::encode_message(wire::EnrollRequest{"t", "c", "n", "z"}));
    CHECK(j == json::parse(R"({"type":"enroll","v":1,"token":"t","csr":"c","name":"n","zone":"z"})"));
}

TEST_CASE("encode_message replaces invalid UTF-8 instead of throwing") {
    std::string payload;
    REQUIRE_NOTHROW(payload = wire::encode_message(wire::Error{"x", std::string("bad \xff\xfe byte")}));
    auto d = decode(payload);
    REQUIRE_FALSE(d.ec);
    CHECK(std::get<wire::Error>(d.message).message.find("bad ") == 0);
}

TEST_CASE("Garbage is malformed JSON and the detail does not echo it") {
    for (const std::string bad :
         {"", "{", "{\"type\":", "hello", "{\"a\":1}}", "\x01secret\x1b[31m", "{'a':1}"}) {
        auto d = decode(bad);
        INFO(bad);
        CHECK(d.ec == wire::errc::malformed_json);
        CHECK(d.detail.find("not valid JSON") != std::string::npos);
        CHECK(d.detail.find("secret") == std::string::npos);
        CHECK(std::get<wire::Ping>(d.message).seq == 424242);
    }
}

TEST_CASE("A string that is not UTF-8 is malformed JSON") {
    auto d = decode(std::string("{\"type\":\"ping\",\"v\":1,\"seq\":1,\"x\":\"\xc3\x28\"}"));
    CHECK(d.ec == wire::errc::malformed_json);
}

TEST_CASE("JSON that is not an object is refused") {
    for (const std::string bad :
         {"[]", "[{\"type\":\"ping\",\"v\":1,\"seq\":1}]", "\"ping\"", "42", "null", "true"}) {
        auto d = decode(bad);
        INFO(bad);
        CHECK(d.ec == wire::errc::not_an_object);
        CHECK(d.detail.find("expected a JSON object") != std::string::npos);
    }
    CHECK(decode(std::string("[1,2]")).detail == "payload is an array, expected a JSON object");
}

TEST_CASE("type and v are checked first") {
    auto d = decode(json{{"v", 1}, {"seq", 1}});
    CHECK(d.ec == wire::errc::missing_field);
    CHECK(d.detail == "field \"type\": missing");

    d = decode(json{{"type", 5}, {"v", 1}});
    CHECK(d.ec == wire::errc::wrong_type);
    CHECK(d.detail == "field \"type\": expected a string, got an integer");

    d = decode(json{{"type", "ping"}, {"seq", 1}});
    CHECK(d.ec == wire::errc::missing_field);
    CHECK(d.detail == "field \"v\": missing");

    d = decode(json{{"type", "ping"}, {"v", "1"}, {"seq", 1}});
    CHECK(d.ec == wire::errc::wrong_type);

    d = decode(std::string(R"({"type":"ping","v":1.0,"seq":1})"));
    CHECK(d.ec == wire::errc::wrong_type);
}

TEST_CASE("A version other than 1 is refused") {
    auto d = decode(json{{"type", "ping"}, {"v", 2}, {"seq", 1}});
    CHECK(d.ec == wire::errc::unsupported_version);
    CHECK(d.detail == "protocol version 2 is not supported (this build speaks 1)");

    CHECK(decode(json{{"type", "ping"}, {"v", 0}, {"seq", 1}}).ec == wire::errc::unsupported_version);
    CHECK(decode(json{{"type", "ping"}, {"v", -1}, {"seq", 1}}).ec == wire::errc::unsupported_version);
    CHECK(decode(std::string(R"({"type":"ping","v":18446744073709551615,"seq":1})")).ec ==
          wire::errc::unsupported_version);
    // A newer peer's new message type is reported as a version problem, the more useful answer.
    CHECK(decode(json{{"type", "future"}, {"v", 2}}).ec == wire::errc::unsupported_version);
}

TEST_CASE("An unknown type is refused with the name escaped") {
    auto d = decode(json{{"type", "bogus"}, {"v", 1}});
    CHECK(d.ec == wire::errc::unknown_type);
    CHECK(d.detail == "unknown message type \"bogus\"");

    d = decode(json{{"type", "evil\n\x1b[31m\"x"}, {"v", 1}});
    CHECK(d.ec == wire::errc::unknown_type);
    CHECK(d.detail == "unknown message type \"evil\\x0a\\x1b[31m\\\"x\"");

    d = decode(json{{"type", std::string(500, 'a')}, {"v", 1}});
    CHECK(d.ec == wire::errc::unknown_type);
    CHECK(d.detail.size() < 120);
    CHECK(d.detail.find("...") != std::string::npos);

    CHECK(decode(json{{"type", "PING"}, {"v", 1}, {"seq", 1}}).ec == wire::errc::unknown_type);
}

TEST_CASE("Fields of the wrong JSON type are refused, naming the field") {
    auto d = decode(json{{"type", "ack"}, {"v", 1}, {"seq", "5"}});
    CHECK(d.ec == wire::errc::wrong_type);
    CHECK(d.detail == "field \"seq\" of \"ack\": expected an integer, got a string");

    d = decode(std::string(R"({"type":"ping","v":1,"seq":1.5})"));
    CHECK(d.ec == wire::errc::wrong_type);
    CHECK(d.detail == "field \"seq\" of \"ping\": expected an integer, got a non-integer number");

    d = decode(std::string(R"({"type":"pong","v":1,"seq":1e3})"));
    CHECK(d.ec == wire::errc::wrong_type);

    auto ms = json::parse(wire::encode_message(wire::MsList{1, {"a"}, "static", 0, {}}));
    ms["list"] = "a,b";
    d = decode(ms);
    CHECK(d.ec == wire::errc::wrong_type);
    CHECK(d.detail == "field \"list\" of \"ms_list\": expected an array of strings, got a string");

    ms["list"] = json{"a", 2};
    d = decode(ms);
    CHECK(d.ec == wire::errc::wrong_type);
    CHECK(d.detail == "field \"list\" of \"ms_list\": expected an array of strings, element 1 is an integer");

    ms["list"] = json::array();
    ms["avoid"] = json{{"a", 1}};
    CHECK(decode(ms).ec == wire::errc::wrong_type);

    auto hello = json::parse(wire::encode_message(wire::Hello{"h", "z", "", 0, "1"}));
    hello["name"] = nullptr;
    d = decode(hello);
    CHECK(d.ec == wire::errc::wrong_type);
    CHECK(d.detail == "field \"name\" of \"hello\": expected a string, got null");

    hello["name"] = "h";
    hello["version"] = 3;
    CHECK(decode(hello).ec == wire::errc::wrong_type);

    hello["version"] = "1";
    hello["interval"] = true;
    d = decode(hello);
    CHECK(d.ec == wire::errc::wrong_type);
    CHECK(d.detail == "field \"interval\" of \"hello\": expected an integer, got a boolean");

    auto migrate = json{{"type", "migrate"}, {"v", 1}, {"reason", "x"}, {"avoid", "ms1"}};
    CHECK(decode(migrate).ec == wire::errc::wrong_type);
}

TEST_CASE("A bad correction inside welcome names the nested field") {
    auto welcome = json::parse(wire::encode_message(wire::Welcome{1, "ms1", 10, wire::MsList{}}));
    welcome["correction"]["seq"] = "x";
    auto d = decode(welcome);
    CHECK(d.ec == wire::errc::wrong_type);
    CHECK(d.detail == "field \"correction.seq\" of \"welcome\": expected an integer, got a string");

    welcome["correction"].erase("seq");
    d = decode(welcome);
    CHECK(d.ec == wire::errc::missing_field);
    CHECK(d.detail == "field \"correction.seq\" of \"welcome\": missing");

    welcome["correction"] = json::array();
    d = decode(welcome);
    CHECK(d.ec == wire::errc::wrong_type);
    CHECK(d.detail == "field \"correction\" of \"welcome\": expected an object, got an array");

    welcome["correction"] = nullptr;  // null means "no correction"
    d = decode(welcome);
    REQUIRE_FALSE(d.ec);
    CHECK_FALSE(std::get<wire::Welcome>(d.message).correction.has_value());
}

TEST_CASE("Out-of-range integers are invalid values") {
    auto d = decode(json{{"type", "ack"}, {"v", 1}, {"seq", -1}});
    CHECK(d.ec == wire::errc::invalid_value);
    CHECK(d.detail == "field \"seq\" of \"ack\": must not be negative, got -1");

    d = decode(std::string(R"({"type":"ack","v":1,"seq":9223372036854775808})"));
    CHECK(d.ec == wire::errc::invalid_value);
    CHECK(d.detail == "field \"seq\" of \"ack\": integer 9223372036854775808 is out of range");

    // Beyond uint64 nlohmann parses a float: still refused.
    CHECK(decode(std::string(R"({"type":"ack","v":1,"seq":99999999999999999999999})")).ec ==
          wire::errc::wrong_type);

    d = decode(std::string(R"({"type":"ack","v":1,"seq":9223372036854775807})"));
    REQUIRE_FALSE(d.ec);
    CHECK(std::get<wire::Ack>(d.message).seq == 9223372036854775807);

    auto hello = json::parse(wire::encode_message(wire::Hello{"h", "z", "", 0, ""}));
    hello["interval"] = -5;
    CHECK(decode(hello).ec == wire::errc::invalid_value);
}

TEST_CASE("Every required field is required, optional ones default") {
    const std::set<std::pair<std::string, std::string>> optional = {{"hello", "version"},
                                                                    {"hello", "trusts"},
                                                                    {"welcome", "correction"},
                                                                    {"migrate", "avoid"},
                                                                    {"migrate", "to"},
                                                                    {"ping", "rtt_us"},
                                                                    {"app", "reply_to"},
                                                                    {"app", "content_type"},
                                                                    {"app", "payload"},
                                                                    {"relay", "reply_to"},
                                                                    {"relay", "content_type"},
                                                                    {"relay", "payload"}};
    int checked = 0;
    for (const auto& m : samples()) {
        const auto full = json::parse(wire::encode_message(m));
        const std::string type(wire::message_type(m));
        for (const auto& [key, value] : full.items()) {
            if (key == "type" || key == "v") {
                continue;
            }
            auto without = full;
            without.erase(key);
            auto d = decode(without);
            INFO(type << " without " << key);
            if ((type == "app" || type == "relay") && key == "floor") {
                // Optional in the JSON (acks have none), required of a message.
                CHECK(d.ec == wire::errc::invalid_value);
                CHECK(d.detail == "\"" + type + "\": message: floor is missing");
            } else if (optional.count({type, key}) != 0) {
                REQUIRE_FALSE(d.ec);
                CHECK(wire::message_type(d.message) == type);
            } else {
                CHECK(d.ec == wire::errc::missing_field);
                CHECK(d.detail == "field \"" + key + "\" of \"" + type + "\": missing");
                ++checked;
            }
        }
    }
    // The second ping's seq and hello's fields too, trust's cas, renew_expired's
    // three, app's kind, app, epoch and sequence, relay's to and host and the
    // same four.
    CHECK(checked == 53);
}

TEST_CASE("Optional fields default when absent") {
    auto d =
        decode(json{{"type", "hello"}, {"v", 1}, {"name", "h"}, {"zone", ""}, {"list", ""}, {"interval", 0}});
    REQUIRE_FALSE(d.ec);
    CHECK(std::get<wire::Hello>(d.message) == wire::Hello{"h", "", "", 0, ""});

    d = decode(json{{"type", "migrate"}, {"v", 1}, {"reason", "r"}, {"avoid", nullptr}});
    REQUIRE_FALSE(d.ec);
    CHECK(std::get<wire::Migrate>(d.message).avoid.empty());
    CHECK(std::get<wire::Migrate>(d.message).to.empty());
}

TEST_CASE("Unknown extra fields are ignored") {
    auto j = json::parse(wire::encode_message(wire::Ack{3}));
    j["future_field"] = json{{"nested", json::array({1, 2, 3})}};
    j["another"] = nullptr;
    std::string detail = "stale";
    wire::Message out;
    REQUIRE_FALSE(wire::decode_message(j.dump(), out, detail));
    CHECK(detail.empty());
    CHECK(std::get<wire::Ack>(out) == wire::Ack{3});
}

TEST_CASE("Deeply nested JSON does not crash the decoder") {
    const std::string deep = std::string(30000, '[') + std::string(30000, ']');
    CHECK(decode(deep).ec == wire::errc::not_an_object);

    auto d = decode(std::string(R"({"type":"ping","v":1,"seq":4,"x":)") + deep + "}");
    REQUIRE_FALSE(d.ec);
    CHECK(std::get<wire::Ping>(d.message).seq == 4);

    CHECK(decode(std::string(40000, '[')).ec == wire::errc::malformed_json);
}

TEST_CASE("ping's round trip is optional both ways and checked when present") {
    // An older agent's ping: no rtt_us.
    auto old_agent = decode(json{{"type", "ping"}, {"v", 1}, {"seq", 5}});
    REQUIRE_FALSE(old_agent.ec);
    CHECK(std::get<wire::Ping>(old_agent.message) == wire::Ping{5, std::nullopt});
    // Older servers never see it unless it is sent: a ping without one has no field.
    CHECK(json::parse(wire::encode_message(wire::Ping{5})).count("rtt_us") == 0);
    CHECK(json::parse(wire::encode_message(wire::Ping{5, 2500})).at("rtt_us") == 2500);

    auto null_rtt = decode(json{{"type", "ping"}, {"v", 1}, {"seq", 5}, {"rtt_us", nullptr}});
    REQUIRE_FALSE(null_rtt.ec);
    CHECK_FALSE(std::get<wire::Ping>(null_rtt.message).rtt_us);

    auto negative = decode(json{{"type", "ping"}, {"v", 1}, {"seq", 5}, {"rtt_us", -1}});
    CHECK(negative.ec == wire::errc::invalid_value);
    CHECK_THAT(negative.detail, Catch::Contains("rtt_us"));
    auto text = decode(json{{"type", "ping"}, {"v", 1}, {"seq", 5}, {"rtt_us", "fast"}});
    CHECK(text.ec == wire::errc::wrong_type);
}

TEST_CASE("an imported CA's chain travels in enrolled and certificate only when there is one") {
    wire::EnrollResponse enrolled{3, "kvm-02", "default", "CERT", "ROOT", {"ms1"}, "static", 0};
    wire::Certificate renewed{"CERT", "ROOT"};
    // No chain: the messages an older peer knows, field for field.
    CHECK_FALSE(json::parse(wire::encode_message(enrolled)).contains("chain"));
    CHECK_FALSE(json::parse(wire::encode_message(renewed)).contains("chain"));
    check_round_trip(enrolled);
    check_round_trip(renewed);

    enrolled.chain = "ISSUING CA\nINTERMEDIATE\n";
    renewed.chain = enrolled.chain;
    CHECK(json::parse(wire::encode_message(enrolled))["chain"] == enrolled.chain);
    CHECK(json::parse(wire::encode_message(renewed))["chain"] == renewed.chain);
    check_round_trip(enrolled);
    check_round_trip(renewed);
}
