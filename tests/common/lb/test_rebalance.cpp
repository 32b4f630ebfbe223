// The rebalance rule (common/lb/rebalance): where an agent should be, shared
// by the servers and `agentlbctl rebalance --dry-run`.

#include "common/lb/rebalance.hpp"

#include <catch2/catch.hpp>

using namespace agentlb::lb;

namespace {

const std::vector<std::string> kList{"ms1", "ms2", "ms3"};

std::vector<ServerView> servers(std::string s1, std::string s2, std::string s3) {
    return {{"ms1:8250", std::move(s1), false},
            {"ms2:8250", std::move(s2), false},
            {"ms3:8250", std::move(s3), false}};
}

}  // namespace

TEST_CASE("rebalance: an agent moves to the first entry of its list whose server is up") {
    const auto all_up = servers("up", "up", "up");
    CHECK(rebalance_destination(kList, "ms3:8250", all_up) == "ms1");
    CHECK(rebalance_destination(kList, "ms2:8250", all_up) == "ms1");
    // Already there, written differently: stays.
    CHECK_FALSE(rebalance_destination(kList, "MS1:8250", all_up));
    CHECK_FALSE(rebalance_destination(kList, "ms1", all_up));
}

TEST_CASE("rebalance: servers that are not up, or are in maintenance, are skipped") {
    for (const char* state : {"down", "preparing", "maintenance"}) {
        INFO(state);
        const auto view = servers(state, "up", "up");
        CHECK(rebalance_destination(kList, "ms3:8250", view) == "ms2");
        CHECK_FALSE(rebalance_destination(kList, "ms2:8250", view));
        // An agent still on the server being drained moves on too.
        CHECK(rebalance_destination(kList, "ms1:8250", view) == "ms2");
    }
    auto flagged = servers("up", "up", "up");
    flagged[0].maintenance = true;  // requested, the server has not reported preparing yet
    CHECK(rebalance_destination(kList, "ms3:8250", flagged) == "ms2");
}

TEST_CASE("rebalance: no server of the list up: the agent stays") {
    const auto none = servers("down", "maintenance", "down");
    CHECK_FALSE(rebalance_destination(kList, "ms2:8250", none));
    CHECK_FALSE(rebalance_destination({}, "ms2:8250", servers("up", "up", "up")));
}

TEST_CASE("rebalance: an entry naming no registered server counts as not up") {
    const std::vector<std::string> list{"ghost:8250", "ms2", "ms3"};
    CHECK(rebalance_destination(list, "ms3:8250", servers("up", "up", "up")) == "ms2");
    CHECK_FALSE(entry_available("ghost", servers("up", "up", "up")));
    CHECK(entry_available("ms2", servers("up", "up", "up")));
}

TEST_CASE("rebalance: two rows at one address: available only if none is avoided") {
    std::vector<ServerView> view{
        {"ms1:8250", "down", false}, {"ms1:8250", "up", false}, {"ms2:8250", "up", false}};
    CHECK_FALSE(entry_available("ms1", view));
    CHECK(rebalance_destination(kList, "ms3:8250", view) == "ms2");
}

TEST_CASE("rebalance: an agent on a server its list does not name moves to its first up entry") {
    std::vector<ServerView> view = servers("up", "up", "up");
    view.push_back({"ms4:8250", "up", false});
    CHECK(rebalance_destination(kList, "ms4:8250", view) == "ms1");
    CHECK(rebalance_destination(kList, "ms4:8250", view, "ms3:8250") == "ms1");
    // ... unless the target is not in its list at all.
    CHECK_FALSE(rebalance_destination({"ms1", "ms2"}, "ms4:8250", view, "ms3:8250"));
    // An unregistered server counts the same.
    CHECK(rebalance_destination(kList, "gone:8250", servers("down", "up", "up")) == "ms2");
}

TEST_CASE("rebalance: with a target, only agents whose list puts it ahead of their server move") {
    const auto all_up = servers("up", "up", "up");
    // Target ms1 (cancel-maintenance ms1 --rebalance).
    CHECK(rebalance_destination(kList, "ms2:8250", all_up, "ms1:8250") == "ms1");
    CHECK(rebalance_destination(kList, "ms3:8250", all_up, "ms1:8250") == "ms1");
    CHECK_FALSE(rebalance_destination(kList, "ms1:8250", all_up, "ms1:8250"));
    // Target ms2: an agent on ms3 has it ahead; it goes to its first up entry (ms1).
    CHECK(rebalance_destination(kList, "ms3:8250", all_up, "ms2:8250") == "ms1");
    // An agent on ms2 does not have ms2 ahead of itself, though ms1 would suit it better.
    CHECK_FALSE(rebalance_destination(kList, "ms2:8250", all_up, "ms2:8250"));
    // Target ms3 is behind an agent on ms2: it stays.
    CHECK_FALSE(rebalance_destination(kList, "ms2:8250", all_up, "ms3:8250"));
    // A list written in another order.
    const std::vector<std::string> other{"ms3", "ms1", "ms2"};
    CHECK_FALSE(rebalance_destination(other, "ms3:8250", all_up, "ms1:8250"));
    CHECK(rebalance_destination(other, "ms2:8250", servers("down", "up", "up"), "ms1:8250") == "ms3");
}
