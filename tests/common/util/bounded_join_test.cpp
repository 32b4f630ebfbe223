#include "common/util/bounded_join.hpp"

#include <catch2/catch.hpp>

using agentlb::util::join_bounded;

namespace {

std::vector<std::string> numbered(std::size_t count, const std::string& prefix = "ms") {
    std::vector<std::string> items;
    for (std::size_t i = 1; i <= count; ++i) {
        items.push_back(prefix + std::to_string(i));
    }
    return items;
}

}  // namespace

TEST_CASE("join_bounded joins a short list in full") {
    CHECK(join_bounded({}).empty());
    CHECK(join_bounded({"a"}) == "a");
    CHECK(join_bounded({"a", "b", "c"}) == "a,b,c");
    CHECK(join_bounded({"a", "b"}, "; ") == "a; b");
    CHECK(join_bounded(numbered(8)) == "ms1,ms2,ms3,ms4,ms5,ms6,ms7,ms8");
}

TEST_CASE("join_bounded shows the first items and counts the rest") {
    CHECK(join_bounded(numbered(9)) == "ms1,ms2,ms3,ms4,ms5,ms6,ms7,ms8,... and 1 more");
    CHECK(join_bounded(numbered(10000), ",", 2) == "ms1,ms2,... and 9998 more");
}

TEST_CASE("join_bounded keeps to the byte bound") {
    const std::vector<std::string> long_items(5, std::string(200, 'x'));
    const auto text = join_bounded(long_items);
    // Two items (401 bytes) fit in 512; a third would not.
    CHECK(text == std::string(200, 'x') + "," + std::string(200, 'x') + ",... and 3 more");

    const auto huge = join_bounded({std::string(100000, 'y'), "z"});
    CHECK(huge == std::string(512, 'y') + "...,... and 1 more");
}

TEST_CASE("join_bounded stays short however long the list") {
    const auto text = join_bounded(numbered(10000, std::string(240, 'h')));
    CHECK(text.size() < 600);
    CHECK_THAT(text, Catch::EndsWith("... and 9998 more"));
}
