// What every registered algorithm must do, whatever it is: a new algorithm
// passes this test before anything else (docs/DESIGN.md, "adding an
// algorithm").

#include "common/lb/algorithm.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

using namespace agentlb::lb;
using List = std::vector<std::string>;

namespace {

List sorted(List list) {
    std::sort(list.begin(), list.end());
    return list;
}

const std::vector<List> kServerLists{
    {"ms1"},
    {"ms1", "ms2:9000", "10.0.0.3"},
    {"a", "b", "c", "d", "[fd00::1]:8251"},
};
const std::vector<std::int64_t> kHostIds{1, 2, 3, 5, 8, 13, 21, 34, 55, 89};

}  // namespace

TEST_CASE("algorithm contract: every registered algorithm") {
    REQUIRE_FALSE(algorithm_names().empty());
    for (std::string_view name : algorithm_names()) {
        INFO("algorithm " << name);
        auto found = find_algorithm(name);
        REQUIRE(found.ok());
        const Algorithm& algorithm = **found;
        CHECK(algorithm.name() == name);

        const std::vector<std::int64_t> none;
        const Weights no_weights;
        CHECK(algorithm.compute({{}, kHostIds, 1, no_weights}).empty());
        CHECK(algorithm.compute({{}, none, 1, no_weights}).empty());

        for (const List& servers : kServerLists) {
            INFO("servers " << servers.size());
            Weights weights;
            for (std::size_t i = 0; i < servers.size(); ++i) {
                weights[servers[i]] = static_cast<std::int64_t>(i % 3);  // 0, 1 and 2
            }
            std::vector<List> outputs;
            for (const Weights* used : std::vector<const Weights*>{&no_weights, &weights}) {
                for (std::int64_t id : kHostIds) {
                    const List list = algorithm.compute({servers, kHostIds, id, *used});
                    // A permutation of `host`: nothing added, dropped or repeated.
                    CHECK(sorted(list) == sorted(servers));
                    if (algorithm.deterministic()) {
                        CHECK(algorithm.compute({servers, kHostIds, id, *used}) == list);
                    }
                    // A host not registered yet gets a list too.
                    CHECK(sorted(algorithm.compute({servers, none, id, *used})) == sorted(servers));
                    outputs.push_back(list);
                }
            }
            for (const List& a : outputs) {
                CHECK(algorithm.agree(a, a));
                CHECK_FALSE(algorithm.agree(a, {}));
                CHECK_FALSE(algorithm.agree({}, a));
                for (const List& b : outputs) {
                    CHECK(algorithm.agree(a, b) == algorithm.agree(b, a));
                }
                // Other servers never agree: the agent must be told.
                List fewer(a.begin(), a.end() - 1);
                CHECK_FALSE(algorithm.agree(a, fewer));
                List other = a;
                other.back() = "elsewhere";
                CHECK_FALSE(algorithm.agree(a, other));
            }
        }
        CHECK_FALSE(algorithm.agree({}, {}));
    }
}
