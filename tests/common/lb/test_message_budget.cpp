// The `host` value is refused when the largest message it causes would not
// fit a frame: measured with the real encoder, exact at the boundary.

#include "common/lb/config_keys.hpp"
#include "common/lb/host_list.hpp"
#include "common/lb/message_budget.hpp"
#include "common/wire/frame.hpp"
#include "common/wire/messages.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using namespace agentlb;
using namespace agentlb::lb;

namespace {

// Entry `i` padded to `size` bytes: "h12-xxxx".
std::string filler(std::size_t i, std::size_t size) {
    std::string entry = "h" + std::to_string(i) + "-";
    entry.resize(size, 'x');
    return entry;
}

// The largest entry that still fits after `hosts`: "z...z" (a single label,
// so at most 63 bytes); 0 when not even "z" fits.
std::size_t longest_last_entry(std::vector<std::string> hosts) {
    hosts.emplace_back();
    std::size_t longest = 0;
    for (std::size_t size = 1; size <= 63; ++size) {
        hosts.back() = std::string(size, 'z');
        if (largest_list_message(hosts).bytes > wire::kMaxPayload) {
            break;
        }
        longest = size;
    }
    return longest;
}

}  // namespace

TEST_CASE("largest_list_message: enrolled for a short list, welcome for a long one, measured") {
    const std::vector<std::string> hosts{"ms1.example.com", "ms2.example.com:9000", "[2001:db8::1]:8250"};
    const auto short_list = largest_list_message(hosts);
    // The certificate and the CA outweigh a short list carried twice.
    CHECK(short_list.type == "enrolled");
    CHECK(short_list.bytes > 2 * kPemAllowance);
    // Never less than a real welcome carrying the list twice (list and avoid).
    const wire::MsList list{1, hosts, "roundrobin", 30, hosts};
    CHECK(short_list.bytes > wire::encode_message(wire::Welcome{7, "ms1", 10, list}).size());

    std::vector<std::string> many;
    // Enough to outweigh an enrolled message's certificates and imported CA chain.
    for (std::size_t i = 0; i < 900; ++i) {
        many.push_back(filler(i, 30));
    }
    const auto long_list = largest_list_message(many);
    CHECK(long_list.type == "welcome");
    // Growing the list by one byte grows the welcome by two (list and avoid).
    many[0] += "x";
    CHECK(largest_list_message(many).bytes == long_list.bytes + 2);
}

TEST_CASE("host: the largest accepted value is accepted, one byte more is refused") {
    // Fill with 20-byte entries while they fit, drop one so the last entry
    // has room to grow, then grow it one byte at a time up to the limit.
    auto fillers = [](std::size_t count) {
        std::vector<std::string> hosts;
        for (std::size_t i = 0; i < count; ++i) {
            hosts.push_back(filler(i, 20));
        }
        return hosts;
    };
    // The most fillers that fit (binary search), less one.
    std::size_t fits = 1;
    std::size_t too_many = wire::kMaxPayload / 20;
    REQUIRE(largest_list_message(fillers(too_many)).bytes > wire::kMaxPayload);
    while (too_many - fits > 1) {
        const std::size_t middle = (fits + too_many) / 2;
        if (largest_list_message(fillers(middle)).bytes <= wire::kMaxPayload) {
            fits = middle;
        } else {
            too_many = middle;
        }
    }
    std::vector<std::string> hosts = fillers(fits - 1);
    const std::size_t last = longest_last_entry(hosts);
    REQUIRE(last > 0);
    REQUIRE(last < 63);

    hosts.push_back(std::string(last, 'z'));
    const std::string accepted = join_host_list(hosts);
    const auto at_limit = largest_list_message(hosts);
    CHECK(at_limit.bytes <= wire::kMaxPayload);
    CHECK(at_limit.bytes >= wire::kMaxPayload - 1);  // one byte of the value costs two
    CHECK(validate_config(kHostKey, accepted).ok());
    CHECK(settings_from_config({{"host", accepted}}).ok());

    const std::string refused = accepted + "z";
    REQUIRE(refused.size() == accepted.size() + 1);
    auto status = validate_config(kHostKey, refused);
    REQUIRE_FALSE(status.ok());
    hosts.back() += "z";
    const auto over = largest_list_message(hosts);
    CHECK(status.error() == "host: the list is " + std::to_string(refused.size()) +
                                " bytes; the largest message it causes ('welcome') would be " +
                                std::to_string(over.bytes) +
                                " bytes, over the 65536-byte frame limit; use fewer or shorter entries");
}

TEST_CASE("host: 4,000 entries (68 KB) are refused, naming the key and the limit") {
    std::string value;
    for (int i = 0; i < 4000; ++i) {
        value += (value.empty() ? "" : ",") + filler(static_cast<std::size_t>(i), 16);
    }
    auto status = validate_config(kHostKey, value);
    REQUIRE_FALSE(status.ok());
    CHECK_THAT(status.error(),
               StartsWith("host: the list is 67999 bytes") && Contains("65536-byte frame limit"));
}

TEST_CASE("settings_from_config: an oversized stored host is refused, naming the key") {
    std::string value;
    for (int i = 0; i < 4000; ++i) {
        value += (value.empty() ? "" : ",") + filler(static_cast<std::size_t>(i), 16);
    }
    auto settings = settings_from_config({{"host", value}});
    REQUIRE_FALSE(settings.ok());
    CHECK_THAT(settings.error(), StartsWith("host (stored value): the list is") && Contains("frame limit"));
}
