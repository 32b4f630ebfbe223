// The balancing rules for one agent (common/lb/assignment): whether it must
// be told, what it is sent, what its hello says it holds.

#include "common/lb/assignment.hpp"

#include <catch2/catch.hpp>

using namespace agentlb;
using namespace agentlb::lb;

namespace {

const Algorithm& assignment_algorithm(std::string_view name) {
    return *find_algorithm(name).value();
}

}  // namespace

TEST_CASE("needs_update: an agent is told only when something it holds is wrong") {
    const auto& rr = assignment_algorithm("roundrobin");
    const Assignment next{{"a", "b", "c"}, "roundrobin", 30, {}};

    CHECK_FALSE(needs_update(next, next, rr));

    auto held = next;
    held.algorithm = "static";
    CHECK(needs_update(held, next, rr));

    held = next;
    held.interval = 0;
    CHECK(needs_update(held, next, rr));

    held = next;
    held.list = {"b", "c", "a"};
    CHECK(needs_update(held, next, rr));

    held = next;
    held.list = {};
    CHECK(needs_update(held, next, rr));

    auto with_avoid = next;
    with_avoid.avoid = {"b"};
    CHECK(needs_update(next, with_avoid, rr));
    CHECK_FALSE(needs_update(with_avoid, with_avoid, rr));

    // Nothing to say while `host` is unset.
    CHECK_FALSE(needs_update(Assignment{}, Assignment{{}, "static", 0, {}}, assignment_algorithm("static")));
}

TEST_CASE("shuffle: a same-set list is kept even when the avoid list changes") {
    const auto& shuffle = assignment_algorithm("shuffle");
    const Assignment held{{"c", "a", "b"}, "shuffle", 0, {}};
    Assignment next{{"a", "b", "c"}, "shuffle", 0, {}};
    CHECK_FALSE(needs_update(held, next, shuffle));

    next.avoid = {"b"};
    REQUIRE(needs_update(held, next, shuffle));
    const auto sent = assignment_to_send(held, next, shuffle);
    CHECK(sent.list == held.list);
    CHECK(sent.avoid == next.avoid);

    // A different set is replaced by the new order.
    const Assignment other{{"a", "b"}, "shuffle", 0, {}};
    CHECK(assignment_to_send(other, next, shuffle).list == next.list);
}

TEST_CASE("held_from_hello parses the agent's list and tolerates garbage") {
    const auto held = held_from_hello("a,b:9000,c@roundrobin", 45);
    CHECK(held.list == std::vector<std::string>{"a", "b:9000", "c"});
    CHECK(held.algorithm == "roundrobin");
    CHECK(held.interval == 45);

    const auto no_algorithm = held_from_hello("a,b", 0);
    CHECK(no_algorithm.list == std::vector<std::string>{"a", "b"});
    CHECK(no_algorithm.algorithm.empty());

    const auto empty = held_from_hello("", 0);
    CHECK(empty.list.empty());
    CHECK(empty.algorithm.empty());

    const auto garbage = held_from_hello(",,,@@", 5);
    CHECK(garbage.list.empty());
    CHECK(garbage.interval == 5);
}

TEST_CASE("a list held without an algorithm is corrected even when it equals the static list") {
    // CloudStack: compareManagementServerListAndLBAlgorithm returns false when
    // the agent's algorithm differs from the configured one, a missing one
    // included, and the ReadyCommand carries the list and the algorithm.
    const auto& static_algorithm = assignment_algorithm("static");
    const Assignment next{{"a", "b", "c"}, "static", 30, {}};
    const auto held = held_from_hello("a,b,c", 30);
    REQUIRE(held.list == next.list);
    CHECK(needs_update(held, next, static_algorithm));
    CHECK(assignment_to_send(held, next, static_algorithm) == next);

    // Under shuffle the same-set list is replaced too: no algorithm is not shuffle.
    const auto& shuffle = assignment_algorithm("shuffle");
    const Assignment shuffled{{"c", "a", "b"}, "shuffle", 30, {}};
    CHECK(needs_update(held, shuffled, shuffle));
    CHECK(assignment_to_send(held, shuffled, shuffle).algorithm == "shuffle");
}
