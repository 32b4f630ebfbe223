#include "common/util/exception_text.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using agentlb::util::exception_text;

TEST_CASE("exception_text: nothing when there is no exception") {
    CHECK_FALSE(exception_text(nullptr).has_value());
}

TEST_CASE("exception_text: the what() of a standard exception") {
    const auto text = exception_text(std::make_exception_ptr(std::runtime_error("store closed")));
    REQUIRE(text.has_value());
    CHECK(*text == "store closed");
}

TEST_CASE("exception_text: an exception of another kind is rethrown") {
    CHECK_THROWS_AS(exception_text(std::make_exception_ptr(42)), int);
}
