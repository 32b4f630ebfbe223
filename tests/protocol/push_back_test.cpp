#include "common/protocol/push_back.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace agentlb::protocol;
using std::chrono::milliseconds;

TEST_CASE("a push-back line is formatted and parsed back") {
    CHECK(format_push_back(milliseconds(250)) == "AGENTLB-BUSY retry-after-ms=250\r\n");
    for (const long ms : {0L, 1L, 9L, 10L, 999L, 60000L}) {
        const auto line = format_push_back(milliseconds(ms));
        CAPTURE(line);
        CHECK(parse_push_back(line) == PushBack{milliseconds(ms)});
    }
    CHECK(format_push_back(milliseconds(60001)) == "AGENTLB-BUSY retry-after-ms=60000\r\n");
    CHECK(format_push_back(milliseconds(-3)) == "AGENTLB-BUSY retry-after-ms=0\r\n");
    CHECK(format_push_back(milliseconds(60000)).size() == kMaxPushBackLine);
}

TEST_CASE("the push-back parser takes one spelling and nothing else") {
    const char* refused[] = {
        "",
        "AGENTLB-BUSY retry-after-ms=\r\n",
        "AGENTLB-BUSY retry-after-ms=250",
        "AGENTLB-BUSY retry-after-ms=250\n",
        "AGENTLB-BUSY retry-after-ms=250\r",
        "AGENTLB-BUSY retry-after-ms=250\r\n\r\n",
        "AGENTLB-BUSY retry-after-ms=250\r\nx",
        "AGENTLB-BUSY retry-after-ms=0250\r\n",
        "AGENTLB-BUSY retry-after-ms=00\r\n",
        "AGENTLB-BUSY retry-after-ms=+250\r\n",
        "AGENTLB-BUSY retry-after-ms=-1\r\n",
        "AGENTLB-BUSY retry-after-ms=60001\r\n",
        "AGENTLB-BUSY retry-after-ms=99999\r\n",
        "AGENTLB-BUSY retry-after-ms=100000\r\n",
        "AGENTLB-BUSY retry-after-ms=2 50\r\n",
        "AGENTLB-BUSY retry-after-ms=25a\r\n",
        "agentlb-busy retry-after-ms=250\r\n",
        "AGENTLB-BUSY  retry-after-ms=250\r\n",
        "AGENTLB-BUSY retry-after=250\r\n",
        "AGENTLB-BUSY\r\n",
        "\x16\x03\x03\x00\x02\x02\x28",  // a TLS alert
    };
    for (const char* line : refused) {
        CAPTURE(line);
        CHECK_FALSE(parse_push_back(line).has_value());
    }
    const std::string with_nul("AGENTLB-BUSY retry-after-ms=2\0\r\n", 32);
    CHECK_FALSE(parse_push_back(with_nul).has_value());
}

TEST_CASE("the start of a push-back line is incomplete, anything else is decided") {
    const std::string line = format_push_back(milliseconds(60000));
    for (std::size_t n = 0; n < line.size(); ++n) {
        CAPTURE(n);
        CHECK(push_back_incomplete(line.substr(0, n)));
    }
    CHECK_FALSE(push_back_incomplete(line));
    CHECK_FALSE(push_back_incomplete("\x16\x03\x03"));
    CHECK_FALSE(push_back_incomplete("HTTP/1.1 400"));
    CHECK_FALSE(push_back_incomplete("AGENTLB-BUSY retry-after-ms=123456"));
    CHECK_FALSE(push_back_incomplete("AGENTLB-BUSY retry-after-ms=12x"));
    CHECK_FALSE(push_back_incomplete("AGENTLB-BUSY retry-after-ms=12\n"));
    CHECK_FALSE(push_back_incomplete("AGENTLB-BUSY retry-after-ms=12\r\r"));
}
