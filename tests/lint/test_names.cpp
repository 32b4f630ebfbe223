#include "tests/lint/test_names.hpp"

#include <algorithm>

namespace agentlb::lint {

std::vector<BadTestName> names_ctest_splits(std::string_view source) {
    static constexpr std::string_view kOpening = "TEST_CASE(\"";
    std::vector<BadTestName> found;
    for (std::size_t at = source.find(kOpening); at != std::string_view::npos;
         at = source.find(kOpening, at + 1)) {
        std::string name;
        std::size_t i = at + kOpening.size();
        for (; i < source.size() && source[i] != '"'; ++i) {
            if (source[i] == '\\' && i + 1 < source.size()) {
                ++i;
            }
            name += source[i];
        }
        if (name.find(';') != std::string::npos) {
            const auto line = 1 + std::count(source.begin(), source.begin() + static_cast<long>(at), '\n');
            found.push_back(BadTestName{static_cast<int>(line), std::move(name)});
        }
    }
    return found;
}

}  // namespace agentlb::lint
