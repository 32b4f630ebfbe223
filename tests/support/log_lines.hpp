#pragma once

// Reading a process log in tests.

#include <algorithm>
#include <cstddef>
#include <sstream>
#include <string>

namespace agentlb::test {

// The length of the longest line of `log`: what a bounded log line is checked by.
inline std::size_t longest_line(const std::string& log) {
    std::istringstream lines(log);
    std::size_t longest = 0;
    for (std::string line; std::getline(lines, line);) {
        longest = std::max(longest, line.size());
    }
    return longest;
}

// How many lines of `log` contain `needle`: what "logged once" is checked by.
inline std::size_t lines_containing(const std::string& log, const std::string& needle) {
    std::istringstream lines(log);
    std::size_t count = 0;
    for (std::string line; std::getline(lines, line);) {
        count += line.find(needle) != std::string::npos ? 1 : 0;
    }
    return count;
}

}  // namespace agentlb::test
