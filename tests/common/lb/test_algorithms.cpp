#include "common/lb/algorithm.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

using Catch::Matchers::Contains;
using namespace agentlb::lb;
using List = std::vector<std::string>;
using Ids = std::vector<std::int64_t>;

namespace {

const Algorithm& algorithm(std::string_view name) {
    auto found = find_algorithm(name);
    REQUIRE(found.ok());
    REQUIRE(*found != nullptr);
    return **found;
}

const List kMs{"M1", "M2", "M3"};
const Weights kNoWeights;

}  // namespace

TEST_CASE("algorithms: registry names and lookup") {
    CHECK(algorithm_names() == std::vector<std::string_view>{"static", "roundrobin", "shuffle", "hash"});
    for (std::string_view name : algorithm_names()) {
        CHECK(algorithm(name).name() == name);
    }
    auto unknown = find_algorithm("foo");
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error() == "unknown algorithm \"foo\"; expected one of: static, roundrobin, shuffle, hash");
    CHECK_FALSE(find_algorithm("Static").ok());
    CHECK_FALSE(find_algorithm("").ok());
}

TEST_CASE("static: the list unchanged for every host") {
    const Algorithm& a = algorithm("static");
    CHECK(a.compute({kMs, {1, 2, 3}, 2, kNoWeights}) == kMs);
    CHECK(a.compute({kMs, {}, 99, kNoWeights}) == kMs);
    CHECK(a.compute({{}, {1}, 1, kNoWeights}).empty());
}

TEST_CASE("roundrobin: DESIGN.md example, hosts 1..4 over M1,M2,M3") {
    const Algorithm& a = algorithm("roundrobin");
    Ids ids{1, 2, 3, 4};
    CHECK(a.compute({kMs, ids, 1, kNoWeights}) == List{"M1", "M2", "M3"});
    CHECK(a.compute({kMs, ids, 2, kNoWeights}) == List{"M2", "M3", "M1"});
    CHECK(a.compute({kMs, ids, 3, kNoWeights}) == List{"M3", "M1", "M2"});
    CHECK(a.compute({kMs, ids, 4, kNoWeights}) == List{"M1", "M2", "M3"});
}

TEST_CASE("roundrobin: rotation by position, not by id value") {
    const Algorithm& a = algorithm("roundrobin");
    Ids ids{3, 7, 50};
    CHECK(a.compute({kMs, ids, 3, kNoWeights}) == List{"M1", "M2", "M3"});
    CHECK(a.compute({kMs, ids, 7, kNoWeights}) == List{"M2", "M3", "M1"});
    CHECK(a.compute({kMs, ids, 50, kNoWeights}) == List{"M3", "M1", "M2"});
}

TEST_CASE("roundrobin: a host not registered takes position = count") {
    const Algorithm& a = algorithm("roundrobin");
    CHECK(a.compute({kMs, {3, 7}, 60, kNoWeights}) == List{"M3", "M1", "M2"});
    CHECK(a.compute({kMs, {3, 7}, 5, kNoWeights}) == List{"M3", "M1", "M2"});
    CHECK(a.compute({kMs, {3, 7, 9}, 1, kNoWeights}) == List{"M1", "M2", "M3"});
    CHECK(a.compute({kMs, {}, 1, kNoWeights}) == List{"M1", "M2", "M3"});
}

TEST_CASE("roundrobin: one server, and more servers than hosts") {
    const Algorithm& a = algorithm("roundrobin");
    CHECK(a.compute({{"M1"}, {1, 2, 3}, 3, kNoWeights}) == List{"M1"});
    List five{"M1", "M2", "M3", "M4", "M5"};
    CHECK(a.compute({five, {10, 20}, 10, kNoWeights}) == five);
    CHECK(a.compute({five, {10, 20}, 20, kNoWeights}) == List{"M2", "M3", "M4", "M5", "M1"});
    CHECK(a.compute({{}, {1, 2}, 2, kNoWeights}).empty());
}

TEST_CASE("shuffle: a permutation of the list") {
    const Algorithm& a = algorithm("shuffle");
    List eight{"M1", "M2", "M3", "M4", "M5", "M6", "M7", "M8"};
    for (int agent = 0; agent < 20; ++agent) {
        List result = a.compute({eight, {}, agent, kNoWeights});
        CHECK(std::is_permutation(result.begin(), result.end(), eight.begin(), eight.end()));
    }
    CHECK(a.compute({{}, {1}, 1, kNoWeights}).empty());
    CHECK(a.compute({{"M1"}, {1}, 1, kNoWeights}) == List{"M1"});
}

TEST_CASE("shuffle: different agents do not all get the same order") {
    const Algorithm& a = algorithm("shuffle");
    std::set<List> seen;
    // 200 draws over 3! orders all landing on one has probability 6 * (1/6)^200.
    for (int agent = 0; agent < 200; ++agent) {
        seen.insert(a.compute({kMs, {}, agent, kNoWeights}));
    }
    CHECK(seen.size() > 1);
}

TEST_CASE("static and roundrobin agree only if equal in order") {
    for (std::string_view name : {"static", "roundrobin"}) {
        INFO(name);
        const Algorithm& a = algorithm(name);
        CHECK(a.agree(kMs, kMs));
        CHECK_FALSE(a.agree(kMs, List{"M2", "M3", "M1"}));
        CHECK_FALSE(a.agree(kMs, List{"M1", "M2"}));
        CHECK_FALSE(a.agree(kMs, List{"M1", "M2", "M4"}));
    }
}

TEST_CASE("shuffle agrees on the same set in any order") {
    const Algorithm& a = algorithm("shuffle");
    CHECK(a.agree(kMs, kMs));
    CHECK(a.agree(kMs, List{"M3", "M1", "M2"}));
    CHECK_FALSE(a.agree(kMs, List{"M1", "M2"}));
    CHECK_FALSE(a.agree(kMs, List{"M1", "M2", "M3", "M4"}));
    CHECK_FALSE(a.agree(kMs, List{"M1", "M2", "M4"}));
    CHECK_FALSE(a.agree(List{"M1", "M1", "M2"}, List{"M1", "M2", "M2"}));
}

TEST_CASE("every algorithm: anything compared with an empty list disagrees") {
    for (std::string_view name : algorithm_names()) {
        INFO(name);
        const Algorithm& a = algorithm(name);
        CHECK_FALSE(a.agree({}, {}));
        CHECK_FALSE(a.agree(kMs, {}));
        CHECK_FALSE(a.agree({}, kMs));
    }
}
