// Base64 for the app messages' payloads: RFC 4648's test vectors, every
// byte value, and refusal of whatever is not the one canonical encoding.

#include "common/util/base64.hpp"

#include <catch2/catch.hpp>

#include <string>

using agentlb::util::base64_decode;
using agentlb::util::base64_encode;

TEST_CASE("base64 matches RFC 4648's test vectors both ways") {
    const std::pair<std::string, std::string> vectors[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        CHECK(base64_encode(plain) == encoded);
        CHECK(base64_decode(encoded) == plain);
    }
}

TEST_CASE("base64 carries every byte value, at every length modulo 3") {
    std::string bytes;
    for (int i = 0; i < 256; ++i) {
        bytes.push_back(static_cast<char>(i));
    }
    for (std::size_t cut = 253; cut <= 256; ++cut) {
        const std::string part = bytes.substr(0, cut);
        CHECK(base64_decode(base64_encode(part)) == part);
    }
}

TEST_CASE("base64 refuses text that is not the canonical encoding of some bytes") {
    for (const char* bad :
         {"Zg=", "Zg", "Z===", "Zm9=v", "Zm=v", "Zh==", "Zm9w====", "Zm 9", "Zm9v\n", "=Zm9"}) {
        INFO(bad);
        CHECK_FALSE(base64_decode(bad));
    }
}
