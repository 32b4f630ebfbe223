#include "common/util/host_name.hpp"

#include <catch2/catch.hpp>

#include <string>

using agentlb::util::check_host_name;
using agentlb::util::same_host_name;

TEST_CASE("host names: RFC 1123 letters, digits, '-' and dots between labels") {
    for (const char* good : {"kvm1", "KVM-1", "a", "1", "10.0.0.1", "rack-2.dc1.example.com", "x-y-z"}) {
        INFO(good);
        CHECK(check_host_name(good).ok());
    }
}

TEST_CASE("host names: the refusal names the first bad character and its position") {
    auto injected = check_host_name("a/CN=kvm1,O=*");
    REQUIRE_FALSE(injected.ok());
    CHECK_THAT(injected.error(), Catch::Contains("'/' at position 2"));
    CHECK_THAT(injected.error(), Catch::Contains("RFC 1123"));

    for (const char* bad : {"kvm_1", "kvm 1", "kvm1,O=x", "k*", "kvm1:8250", "h\xc3\xa9"}) {
        INFO(bad);
        CHECK_FALSE(check_host_name(bad).ok());
    }
    // Only ASCII comes back: half a UTF-8 character would spoil the whole message.
    auto accented = check_host_name("h\xc3\xa9");
    REQUIRE_FALSE(accented.ok());
    CHECK(accented.error() ==
          "host name \"h\xc3\xa9\" contains '\\xc3' at position 2; a host name may hold only letters, "
          "digits, '-' and '.' between labels (RFC 1123)");

    auto control = check_host_name("h\n1");
    REQUIRE_FALSE(control.ok());
    CHECK_THAT(control.error(), Catch::Contains("'\\x0a' at position 2"));
    CHECK(control.error().find('\n') == std::string::npos);
}

TEST_CASE("host names: labels and length at their boundaries") {
    CHECK_FALSE(check_host_name("").ok());
    CHECK_FALSE(check_host_name(".kvm1").ok());
    CHECK_FALSE(check_host_name("kvm1.").ok());
    CHECK_FALSE(check_host_name("a..b").ok());
    CHECK_FALSE(check_host_name("-kvm1").ok());
    CHECK_FALSE(check_host_name("kvm1-").ok());
    CHECK_FALSE(check_host_name("a.-b.c").ok());
    CHECK(check_host_name("a-.b").error().find("starts or ends with '-'") != std::string::npos);

    CHECK(check_host_name(std::string(63, 'a')).ok());
    CHECK_THAT(check_host_name(std::string(64, 'a')).error(), Catch::Contains("longer than 63"));
    // 64 characters in all is the most a certificate's CN holds.
    const std::string longest = std::string(31, 'a') + "." + std::string(32, 'b');
    REQUIRE(longest.size() == 64);
    CHECK(check_host_name(longest).ok());
    CHECK_THAT(check_host_name(longest + "c").error(), Catch::Contains("at most 64"));
}

TEST_CASE("host names compare without regard to ASCII case") {
    CHECK(same_host_name("kvm1", "KVM1"));
    CHECK(same_host_name("Rack-2.DC1", "rack-2.dc1"));
    CHECK_FALSE(same_host_name("kvm1", "kvm2"));
    CHECK_FALSE(same_host_name("kvm1", "kvm1.a"));
    CHECK_FALSE(same_host_name("a[", "a{"));  // 0x5b and 0x7b: not letters, not folded
}
