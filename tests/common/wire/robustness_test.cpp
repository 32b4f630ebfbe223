// Randomized inputs with a fixed seed (reproducible): the decoder and the
// message codec must never throw or crash, and every refusal must carry a
// wire error code and a detail.

#include "common/wire/error.hpp"
#include "common/wire/frame.hpp"
#include "common/wire/messages.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace wire = agentlb::wire;
using nlohmann::json;

namespace {

struct Outcome {
    int frames = 0;
    int decoded = 0;
    int refused = 0;
};

// `type`, when given, is the "type" the payload claims: an accepted message must be of it.
void decode_checked(const std::string& payload, Outcome& outcome, std::string_view type = {}) {
    wire::Message message;
    std::string detail;
    const auto ec = wire::decode_message(payload, message, detail);
    if (ec) {
        REQUIRE(ec.category() == wire::wire_category());
        REQUIRE_FALSE(detail.empty());
        ++outcome.refused;
    } else {
        if (!type.empty()) {
            REQUIRE(wire::message_type(message) == type);
        }
        // Whatever was accepted must encode and decode to the same message.
        wire::Message again;
        REQUIRE_FALSE(wire::decode_message(wire::encode_message(message), again, detail));
        REQUIRE(again == message);
        ++outcome.decoded;
    }
}

std::string random_bytes(std::mt19937& rng, std::size_t max_size) {
    std::uniform_int_distribution<std::size_t> size(0, max_size);
    std::uniform_int_distribution<int> byte(0, 255);
    std::string s(size(rng), '\0');
    for (auto& c : s) {
        c = static_cast<char>(byte(rng));
    }
    return s;
}

json random_value(std::mt19937& rng) {
    switch (std::uniform_int_distribution<int>(0, 9)(rng)) {
        case 0:
            return nullptr;
        case 1:
            return true;
        case 2:
            return std::uniform_int_distribution<std::int64_t>(-5, 5)(rng);
        case 3:
            return std::numeric_limits<std::uint64_t>::max();
        case 4:
            return 2.5;
        case 5:
            return "ms1";
        case 6:
            return json::array({"a", "b"});
        case 7:
            return json::array({"a", 1});
        case 8:
            return json::object({{"seq", 1}, {"list", json::array()}});
        default:
            return json::object({{"seq", 1},
                                 {"list", json::array({"x"})},
                                 {"algorithm", "static"},
                                 {"interval", 0},
                                 {"avoid", json::array()}});
    }
}

}  // namespace

TEST_CASE("Random bytes through the frame decoder and the codec never throw") {
    std::mt19937 rng(20240607);
    std::uniform_int_distribution<std::size_t> chunk(1, 64);
    Outcome outcome;
    int decoder_errors = 0;
    REQUIRE_NOTHROW([&] {
        for (int i = 0; i < 3000; ++i) {
            // Half the streams start with a plausible small length so payloads get through.
            std::string stream = random_bytes(rng, 300);
            if (i % 2 == 0) {
                const auto n = static_cast<unsigned char>(rng() % 200 + 1);
                stream.insert(0, std::string{'\0', '\0', '\0', static_cast<char>(n)});
            }
            wire::FrameDecoder decoder;
            for (std::size_t at = 0; at < stream.size();) {
                const auto n = std::min(chunk(rng), stream.size() - at);
                decoder.feed(stream.data() + at, n);
                at += n;
                REQUIRE(decoder.buffered_bytes() <= stream.size());
                boost::system::error_code ec;
                while (auto payload = decoder.next(ec)) {
                    ++outcome.frames;
                    decode_checked(*payload, outcome);
                }
                if (ec) {
                    ++decoder_errors;
                    break;
                }
            }
            decode_checked(stream, outcome);
        }
    }());
    CHECK(outcome.frames > 100);
    CHECK(decoder_errors > 100);
    CHECK(outcome.refused > 3000);
}

TEST_CASE("Mutated valid messages never throw") {
    const std::vector<wire::Message> seeds = {
        wire::Hello{"kvm-01", "zone-a", "ms1,ms2@roundrobin", 30, "0.1.0"},
        wire::Welcome{12, "ms1", 10, wire::MsList{7, {"ms1", "ms2"}, "shuffle", 60, {"ms2"}}},
        wire::EnrollResponse{3, "kvm-02", "default", "CERT", "CA", {"ms1", "ms2"}, "static", 0},
        wire::Ack{7},
    };
    std::mt19937 rng(7);
    Outcome outcome;
    REQUIRE_NOTHROW([&] {
        for (int i = 0; i < 3000; ++i) {
            std::string payload = wire::encode_message(seeds[i % seeds.size()]);
            const int edits = static_cast<int>(rng() % 4) + 1;
            for (int e = 0; e < edits && !payload.empty(); ++e) {
                const auto at = rng() % payload.size();
                switch (rng() % 3) {
                    case 0:
                        payload[at] = static_cast<char>(rng() % 256);
                        break;
                    case 1:
                        payload.erase(at, 1);
                        break;
                    default:
                        payload.insert(at, 1, "{}[]\",:0-9ae\\"[rng() % 13]);
                        break;
                }
            }
            decode_checked(payload, outcome);
        }
    }());
    CHECK(outcome.refused > 1000);
    CHECK(outcome.decoded > 50);
}

TEST_CASE("Valid messages with random fields replaced never throw") {
    // Start from a valid message of each type, then replace, drop or add
    // fields with values of random JSON types; some stay valid, most do not.
    const std::vector<wire::Message> seeds = {
        wire::Hello{"kvm-01", "zone-a", "ms1,ms2@roundrobin", 30, "0.1.0"},
        wire::Ping{1},
        wire::Pong{2},
        wire::Ack{3},
        wire::Renew{"CSR"},
        wire::Welcome{12, "ms1", 10, wire::MsList{7, {"ms1"}, "static", 0, {}}},
        wire::MsList{7, {"ms1", "ms2"}, "shuffle", 60, {"ms2"}},
        wire::Migrate{"maintenance", {"ms1"}, {}},
        wire::Certificate{"CERT", "CA"},
        wire::Error{"identity_mismatch", "no"},
        wire::EnrollRequest{"tok", "CSR", "kvm-02", ""},
        wire::EnrollResponse{3, "kvm-02", "default", "CERT", "CA", {"ms1", "ms2"}, "static", 0},
    };
    const std::vector<std::string> extra = {"correction", "avoid", "version", "seq", "unknown"};
    std::mt19937 rng(99);
    Outcome outcome;
    REQUIRE_NOTHROW([&] {
        for (int i = 0; i < 2000; ++i) {
            const auto& seed = seeds[i % seeds.size()];
            json j = json::parse(wire::encode_message(seed));
            std::vector<std::string> keys;
            for (const auto& item : j.items()) {
                keys.push_back(item.key());
            }
            for (const auto& key : keys) {
                const auto roll = rng() % 12;
                if (roll == 0) {
                    j.erase(key);
                } else if (roll == 1) {
                    j[key] = random_value(rng);
                }
            }
            j[extra[rng() % extra.size()]] = random_value(rng);
            const std::string type =
                j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>() : "";
            decode_checked(j.dump(), outcome, type);
        }
    }());
    CHECK(outcome.refused > 500);
    CHECK(outcome.decoded > 500);
}
