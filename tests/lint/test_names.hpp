#pragma once

// CTest keeps its test names in a list separated by ';', so a Catch2
// TEST_CASE whose name holds one is registered by catch_discover_tests as two
// tests that each match no case: both "pass" without running anything. This
// finds such names before they hide a test.

#include <string>
#include <string_view>
#include <vector>

namespace agentlb::lint {

struct BadTestName {
    int line = 0;  // 1-based
    std::string name;
};

// The TEST_CASE names in `source` that CTest would split.
std::vector<BadTestName> names_ctest_splits(std::string_view source);

}  // namespace agentlb::lint
