#include "common/wire/error_code.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using namespace agentlb::wire;

TEST_CASE("every error code has its own wire text, and the text names the code back") {
    std::set<std::string> seen;
    for (const auto code : kAllErrorCodes) {
        const auto text = std::string(error_code_text(code));
        CHECK(text != "unknown");
        CHECK(seen.insert(text).second);
        const auto back = error_code_from_text(text);
        REQUIRE(back);
        CHECK(*back == code);
    }
}

TEST_CASE("wire texts are the ones DESIGN.md names") {
    CHECK(error_code_text(ErrorCode::identity_mismatch) == "identity_mismatch");
    CHECK(error_code_text(ErrorCode::superseded) == "superseded");
    CHECK(error_code_text(ErrorCode::draining) == "draining");
    CHECK(error_code_text(ErrorCode::enrollment_refused) == "enrollment_refused");
    CHECK(error_code_text(ErrorCode::rate_limited) == "rate_limited");
}

TEST_CASE("a code this build does not know is not guessed") {
    CHECK_FALSE(error_code_from_text("revoked_later"));
    CHECK_FALSE(error_code_from_text("REVOKED"));
    CHECK_FALSE(error_code_from_text(""));
}

TEST_CASE("make_error carries the code's wire text") {
    const auto error = make_error(ErrorCode::unavailable, "try another server");
    CHECK(error.code == "unavailable");
    CHECK(error.message == "try another server");
}
