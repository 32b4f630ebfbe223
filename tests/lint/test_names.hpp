#pragma once

// CTest keeps its test names in a CMake list separated by ';', so a Catch2
// TEST_CASE whose name holds one is registered by catch_discover_tests as two
// tests that each match no case. A '[' or ']' is worse: CMake does not split
// a list inside brackets, so every later name of the executable joins one
// "test" that matches nothing (36 agent unit tests were hidden so). This
// finds such names before they hide a test; `--warn NoTests` (tests/
// CMakeLists.txt) makes a test that runs nothing fail.

#include <string>
#include <string_view>
#include <vector>

namespace agentlb::lint {

struct BadTestName {
    int line = 0;  // 1-based
    std::string name;
};

// The TEST_CASE names in `source` that CTest would split or merge.
std::vector<BadTestName> names_ctest_splits(std::string_view source);

}  // namespace agentlb::lint
