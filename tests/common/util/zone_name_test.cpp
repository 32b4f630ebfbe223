#include "common/util/zone_name.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using agentlb::util::check_zone;
using agentlb::util::kMaxZoneLength;

TEST_CASE("zones: at most 256 bytes") {
    CHECK(kMaxZoneLength == 256);
    CHECK(check_zone(std::string(256, 'z')).ok());

    auto long_zone = check_zone(std::string(257, 'z'));
    REQUIRE_FALSE(long_zone.ok());
    CHECK_THAT(long_zone.error(), Catch::Contains("is 257 bytes long; at most 256"));
    // The value is echoed cut, not whole.
    CHECK_THAT(long_zone.error(), Catch::StartsWith("zone \"" + std::string(64, 'z') + "...\""));
    CHECK(long_zone.error().size() < 200);

    auto huge = check_zone(std::string(70000, 'z'));
    REQUIRE_FALSE(huge.ok());
    CHECK_THAT(huge.error(), Catch::Contains("is 70000 bytes long"));
    CHECK(huge.error().size() < 200);
}

TEST_CASE("zones: not empty, no space or control character, other bytes allowed") {
    for (const char* good : {"default", "east-1", "rack_2", "z/1", "zone.\xc3\xa9"}) {
        INFO(good);
        CHECK(check_zone(good).ok());
    }
    auto empty = check_zone("");
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error() == "zone is empty");

    for (const std::string& bad :
         std::vector<std::string>{"zone 1", "z\n1", "z\x7f", "\t", std::string("z\0", 2)}) {
        INFO(bad);
        auto refused = check_zone(bad);
        REQUIRE_FALSE(refused.ok());
        CHECK_THAT(refused.error(), Catch::Contains("contains a space or a control character"));
        CHECK(refused.error().find('\n') == std::string::npos);
    }
    // Echoed escaped: control bytes as \xNN, valid UTF-8 kept.
    CHECK(check_zone("\xc3\xa9\n").error() ==
          "zone \"\xc3\xa9\\x0a\" contains a space or a control character");
}
