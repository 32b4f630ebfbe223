#include "tests/lint/test_names.hpp"

#include <algorithm>

namespace agentlb::lint {

std::vector<BadTestName> names_ctest_splits(std::string_view source) {
    // TEST_CASE("name" and TEST_CASE_METHOD(Fixture, "name": the name is
    // the first string literal after the opening.
    static constexpr std::string_view kOpening = "TEST_CASE";
    std::vector<BadTestName> found;
    for (std::size_t at = source.find(kOpening); at != std::string_view::npos;
         at = source.find(kOpening, at + 1)) {
        std::size_t i = at + kOpening.size();
        if (source.substr(i, 1) == "(") {
            i = source.find_first_not_of(" \t\n", i + 1);
        } else if (source.substr(i, 8) == "_METHOD(") {
            i = source.find_first_of(",)", i);
            if (i == std::string_view::npos || source[i] != ',') {
                continue;
            }
            i = source.find_first_not_of(" \t\n", i + 1);
        } else {
            continue;
        }
        if (i == std::string_view::npos || source[i] != '"') {
            continue;
        }
        std::string name;
        for (++i; i < source.size() && source[i] != '"'; ++i) {
            if (source[i] == '\\' && i + 1 < source.size()) {
                ++i;
            }
            name += source[i];
        }
        if (name.find_first_of(";[]") != std::string::npos) {
            const auto line = 1 + std::count(source.begin(), source.begin() + static_cast<long>(at), '\n');
            found.push_back(BadTestName{static_cast<int>(line), std::move(name)});
        }
    }
    return found;
}

}  // namespace agentlb::lint
