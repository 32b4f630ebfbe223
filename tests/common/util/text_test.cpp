#include "common/util/text.hpp"

#include <catch2/catch.hpp>

#include <string>

using agentlb::util::kShownTextBytes;
using agentlb::util::peer_text;
using agentlb::util::Quoted;
using agentlb::util::shows_safely;
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

TEST_CASE("peer_text makes control bytes and backslashes visible") {
    CHECK(peer_text("a\tb\n") == "a\\x09b\\x0a");
    CHECK(peer_text("\x7f") == "\\x7f");
    CHECK(peer_text("c:\\dir") == "c:\\\\dir");
    CHECK(peer_text("plain text") == "plain text");
    CHECK(peer_text("host\n2025 error forged") == "host\\x0a2025 error forged");
}

TEST_CASE("peer_text escapes double quotes and adds quotes only when quoted") {
    CHECK(peer_text("say \"hi\"", kShownTextBytes, Quoted::yes) == "\"say \\\"hi\\\"\"");
    CHECK(peer_text("say \"hi\"") == "say \"hi\"");
}

TEST_CASE("peer_text keeps valid UTF-8 and escapes the rest byte by byte") {
    CHECK(peer_text("h\xc3\xa9") == "h\xc3\xa9");
    CHECK(peer_text("kvm-\xe2\x82\xac-\xf0\x9f\x98\x80") == "kvm-\xe2\x82\xac-\xf0\x9f\x98\x80");
    CHECK(peer_text("a\"\n\xff", kShownTextBytes, Quoted::yes) == "\"a\\\"\\x0a\\xff\"");
    CHECK(peer_text("\xff") == "\\xff");
    CHECK(peer_text("h\xc3") == "h\\xc3");                  // a character cut short
    CHECK(peer_text("\xc0\xaf") == "\\xc0\\xaf");           // an overlong '/'
    CHECK(peer_text("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a surrogate
    CHECK(peer_text("\xc2\x9b"
                    "31m") ==
          "\\xc2\\x9b"
          "31m");  // C1 control (CSI)
}

TEST_CASE("peer_text shows at most max_bytes and marks the cut") {
    CHECK(peer_text(std::string(200, 'x'), 10) == std::string(10, 'x') + "...");
    CHECK(peer_text(std::string(10, 'x'), 10) == std::string(10, 'x'));
    CHECK(peer_text(std::string(300, 'x')) == std::string(kShownTextBytes, 'x') + "...");
    CHECK(peer_text("abcdef", 3, Quoted::yes) == "\"abc...\"");
    // Never half a character: the cut falls before it.
    CHECK(peer_text("ab\xc3\xa9", 3) == "ab...");
}

TEST_CASE("peer_text escapes invisible and direction-changing characters") {
    // U+202E (right-to-left override) would make a log line read backwards
    // from there on; U+200B (zero width space) and U+FEFF hide in a name.
    CHECK(peer_text("ab\xe2\x80\xae"
                    "cd") == "ab\\xe2\\x80\\xaecd");
    CHECK(peer_text("a\xe2\x80\x8b"
                    "b") == "a\\xe2\\x80\\x8bb");
    CHECK(peer_text("\xe2\x81\xa6x\xe2\x81\xa9") == "\\xe2\\x81\\xa6x\\xe2\\x81\\xa9");
    CHECK(peer_text("\xef\xbb\xbfzone") == "\\xef\\xbb\\xbfzone");
    // Printable characters of the same blocks stay: an en dash, a bullet.
    CHECK(peer_text("a\xe2\x80\x93"
                    "b\xe2\x80\xa2") ==
          "a\xe2\x80\x93"
          "b\xe2\x80\xa2");
}

TEST_CASE("shows_safely accepts what peer_text makes and nothing it would escape") {
    for (const std::string_view raw : {std::string_view("plain"),
                                       std::string_view("tab\there"),
                                       std::string_view("\xc3\xa9t\xc3\xa9"),
                                       std::string_view("bad \xff byte"),
                                       std::string_view("rlo\xe2\x80\xae"),
                                       std::string_view("c1 \xc2\x85")}) {
        CHECK(shows_safely(peer_text(raw)));
    }
    CHECK(shows_safely("kvm-\xc3\xbc"));
    CHECK_FALSE(shows_safely("new\nline"));
    CHECK_FALSE(shows_safely("bad \xff byte"));
    CHECK_FALSE(shows_safely("c1 \xc2\x85"));
    CHECK_FALSE(shows_safely("rlo\xe2\x80\xae"));
    CHECK_FALSE(shows_safely("cut \xc3"));
}
