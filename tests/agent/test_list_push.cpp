#include "agent/list_push.hpp"
#include "common/util/atomic_file.hpp"
#include "tests/agent/agent_state_helpers.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

using namespace agentlb;
using namespace agentlb::agent;
using namespace agentlb::agent::test;
using agentlb::test::TempDir;

namespace {

// Records the calls in order; persist can be told to fail.
class FakeTarget : public PushTarget {
public:
    Status persist(const ListUpdate& update) override {
        calls.push_back("persist " + lb::format_agent_host_value(update.value));
        if (fail_persist) {
            return fail("disk full");
        }
        return success();
    }
    void adopt(const ListPush& push) override {
        calls.push_back("adopt " + lb::format_agent_host_value(push.update.value) + " avoid " +
                        lb::join_host_list(push.avoid));
    }
    void ack(std::int64_t seq) override { calls.push_back("ack " + std::to_string(seq)); }

    bool fail_persist = false;
    std::vector<std::string> calls;
};

AgentSettings held(std::vector<std::string> hosts, std::string algorithm, std::int64_t interval) {
    AgentSettings s;
    s.hosts = std::move(hosts);
    s.algorithm = std::move(algorithm);
    s.check_interval = interval;
    return s;
}

}  // namespace

TEST_CASE("a push is persisted, then adopted, then acknowledged") {
    FakeTarget target;
    auto push = to_list_push(wire::MsList{7, {"m2", "m3", "m1"}, "roundrobin", 5, {"m3"}});
    REQUIRE(apply_push(push, held({"m1", "m2", "m3"}, "static", 0), target).ok());
    CHECK(target.calls == std::vector<std::string>{
                              "persist m2,m3,m1@roundrobin", "adopt m2,m3,m1@roundrobin avoid m3", "ack 7"});
}

TEST_CASE("a push that cannot be stored is neither adopted nor acknowledged") {
    FakeTarget target;
    target.fail_persist = true;
    auto push = to_list_push(wire::MsList{8, {"m2", "m1"}, "static", 0, {}});
    auto result = apply_push(push, held({"m1", "m2"}, "static", 0), target);
    REQUIRE_FALSE(result.ok());
    CHECK_THAT(result.error(), Catch::Contains("disk full") && Catch::Contains("seq 8"));
    CHECK(target.calls == std::vector<std::string>{"persist m2,m1@static"});
}

TEST_CASE("an unreadable push is refused before anything is written") {
    FakeTarget target;
    auto list = GENERATE(std::vector<std::string>{},
                         std::vector<std::string>{"m1", "m1"},
                         std::vector<std::string>{"m1:99999"});
    auto result =
        apply_push(to_list_push(wire::MsList{9, list, "static", 0, {}}), held({"m1"}, "static", 0), target);
    REQUIRE_FALSE(result.ok());
    CHECK(target.calls.empty());
}

TEST_CASE("a push equal to the held list skips the write but is acknowledged") {
    FakeTarget target;
    auto push = to_list_push(wire::MsList{10, {"m1", "m2"}, "static", 0, {"m1"}});
    REQUIRE(apply_push(push, held({"m1", "m2"}, "static", 0), target).ok());
    CHECK(target.calls == std::vector<std::string>{"adopt m1,m2@static avoid m1", "ack 10"});

    // The interval alone is a change.
    FakeTarget other;
    push.update.check_interval = 4;
    REQUIRE(apply_push(push, held({"m1", "m2"}, "static", 0), other).ok());
    CHECK(other.calls.front() == "persist m1,m2@static");
}

namespace {

// The agent's real store: the ack must only happen once the file holds the list.
class FileTarget : public PushTarget {
public:
    explicit FileTarget(AgentStateFile& state) : state_(state) {}
    Status persist(const ListUpdate& update) override { return state_.save_list(update); }
    void adopt(const ListPush&) override {}
    void ack(std::int64_t seq) override {
        auto text = util::read_file(state_.path());
        REQUIRE(text.ok());
        file_at_ack = *text;
        acked = seq;
    }

    std::string file_at_ack;
    std::int64_t acked = -1;

private:
    AgentStateFile& state_;
};

}  // namespace

TEST_CASE("when the ack is sent the properties file already holds the new list") {
    TempDir dir;
    const auto path = dir.path() / "agent.properties";
    auto state = write_and_load(path, "# keep me\nhost=m1,m2,m3@static\n");
    FileTarget target(state);
    auto push = to_list_push(wire::MsList{11, {"m3", "m1", "m2"}, "roundrobin", 2, {}});
    REQUIRE(apply_push(push, state.settings(), target).ok());
    CHECK(target.acked == 11);
    CHECK(target.file_at_ack == "# keep me\nhost=m3,m1,m2@roundrobin\nhost.lb.check.interval=2\n");
}

TEST_CASE("a failed write keeps the previous file and sends no ack") {
    TempDir dir;
    const auto path = dir.path() / "agent.properties";
    auto state = write_and_load(path, "host=m1,m2,m3@static\n");
    state.set_write_hooks({[](util::AtomicWriteStep s) { return s != util::AtomicWriteStep::fsync; }});
    FileTarget target(state);
    auto push = to_list_push(wire::MsList{12, {"m3", "m1", "m2"}, "roundrobin", 2, {}});
    REQUIRE_FALSE(apply_push(push, state.settings(), target).ok());
    CHECK(target.acked == -1);
    auto text = util::read_file(path);
    REQUIRE(text.ok());
    CHECK(*text == "host=m1,m2,m3@static\n");
    CHECK(state.settings().held_list() == "m1,m2,m3@static");
}

// Found by tests/fuzz (agent_server_message): the refusal quoted the server's
// algorithm raw, so control bytes from a peer reached the log line.
TEST_CASE("a refused algorithm is shown escaped") {
    FakeTarget target;
    auto push = to_list_push(wire::MsList{11, {"m1"}, "st\x1b[2Jatic", 0, {}});
    auto result = apply_push(push, held({"m1"}, "static", 0), target);
    REQUIRE_FALSE(result.ok());
    CHECK_THAT(result.error(), Catch::Contains("\"st\\x1b[2Jatic\" is not a name"));
    CHECK(result.error().find('\x1b') == std::string::npos);
}

// An agent older than its servers gets lists of algorithms it does not know
// (`hash` came after CloudStack's three). It stores them, reads its file back
// at the next start, and reports the list as it holds it. (Until then such
// a push was refused, and a fleet had to be upgraded before the servers.)
TEST_CASE("a push with an algorithm this agent does not know is stored, adopted and read back") {
    TempDir dir;
    const auto path = dir.path() / "agent.properties";
    auto state = write_and_load(path, "host=m1@static\n");
    FileTarget target(state);
    auto push = to_list_push(wire::MsList{9, {"m1", "m2"}, "fastest", 0, {}});
    REQUIRE(apply_push(push, state.settings(), target).ok());
    CHECK(target.acked == 9);
    CHECK(target.file_at_ack == "host=m1,m2@fastest\nhost.lb.check.interval=0\n");
    auto again = write_and_load(path, *util::read_file(path));
    CHECK(again.settings().held_list() == "m1,m2@fastest");
}
