#pragma once

// A fresh folder per test, removed with everything in it at the end, that can
// list what a write left behind.

#include "tests/support/temp_dir.hpp"

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace agentlb::props::test {

class TempDir : public ::agentlb::test::TempDir {
public:
    // Names of everything in the folder, sorted.
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& entry : std::filesystem::directory_iterator(path())) {
            out.push_back(entry.path().filename().string());
        }
        std::sort(out.begin(), out.end());
        return out;
    }
};

}  // namespace agentlb::props::test
