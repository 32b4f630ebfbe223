#include "common/util/text.hpp"

#include <catch2/catch.hpp>

using agentlb::util::escape_text;
using agentlb::util::trim;

TEST_CASE("trim removes spaces and tabs at both ends only") {
    CHECK(trim("  a b\t") == "a b");
    CHECK(trim(" \t ").empty());
    CHECK(trim("") == "");
    CHECK(trim("\fa\f") == "\fa\f");
}

TEST_CASE("trim takes the set of blank characters") {
    CHECK(trim("\f a \f", " \t\f") == "a");
    CHECK(trim("xxaxx", "x") == "a");
}

TEST_CASE("escape_text makes control bytes and backslashes visible") {
    CHECK(escape_text("a\tb\n") == "a\\x09b\\x0a");
    CHECK(escape_text("\x7f") == "\\x7f");
    CHECK(escape_text("c:\\dir") == "c:\\\\dir");
    CHECK(escape_text("plain text") == "plain text");
}

TEST_CASE("escape_text escapes double quotes unless told not to") {
    CHECK(escape_text("say \"hi\"") == "say \\\"hi\\\"");
    CHECK(escape_text("say \"hi\"", false) == "say \"hi\"");
}

TEST_CASE("escape_text escapes bytes outside ASCII only when told to") {
    CHECK(escape_text("h\xc3\xa9") == "h\xc3\xa9");
    CHECK(escape_text("h\xc3\xa9", true, true) == "h\\xc3\\xa9");
    CHECK(escape_text("a\"\n\xff", true, true) == "a\\\"\\x0a\\xff");
}
