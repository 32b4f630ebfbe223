// Keeps every TEST_CASE runnable under CTest (see test_names.hpp).

#include "tests/lint/test_names.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using agentlb::lint::names_ctest_splits;

TEST_CASE("the name scanner finds a semicolon or a bracket in a test name, and only there") {
    const auto found = names_ctest_splits(
        "x\nTEST_CASE(\"a"
        "; b\") {\n  SECTION(\"c; d\") {}\n}\n");
    REQUIRE(found.size() == 1);
    CHECK(found[0].line == 2);
    CHECK(found[0].name == "a; b");
    CHECK(names_ctest_splits("TEST_CASE(\"a, b \\\"q\\\"\") {}").empty());
    CHECK(names_ctest_splits("TEST_CASE_METHOD(F, \"a b\") {}").empty());
    const auto method = names_ctest_splits("TEST_CASE_METHOD(F,\n    \"a; b\") {}");
    REQUIRE(method.size() == 1);
    CHECK(method[0].name == "a; b");
    CHECK(names_ctest_splits("TEST_CASE(\n    \"a; b\") {}").size() == 1);
    const auto bracket = names_ctest_splits("TEST_CASE(\"in [0, 1)\") {}");
    REQUIRE(bracket.size() == 1);
    CHECK(bracket[0].name == "in [0, 1)");
}

TEST_CASE(
    "no test name holds a semicolon or a bracket, which CTest would split or merge into tests that run "
    "nothing") {
    const std::filesystem::path root = AGENTLB_SOURCE_DIR;
    std::size_t scanned = 0;
    std::ostringstream report;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root / "tests")) {
        if (!entry.is_regular_file() || entry.path().extension() != ".cpp") {
            continue;
        }
        std::ifstream in(entry.path());
        std::stringstream text;
        text << in.rdbuf();
        ++scanned;
        for (const auto& bad : names_ctest_splits(text.str())) {
            report << entry.path().lexically_relative(root).string() << ":" << bad.line << ": " << bad.name
                   << "\n";
        }
    }
    CHECK(scanned > 50);
    INFO(report.str());
    CHECK(report.str().empty());
}
