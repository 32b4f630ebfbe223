// The messages scenario's simulated host (tools/bench/host_streams.hpp),
// scripted: the client library's rules, as a host's software follows them.
// No sockets, no processes.

#include "tools/bench/host_streams.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {

using agentlb::bench::HostAppSettings;
using agentlb::bench::HostStreams;
using agentlb::bench::make_payload;
using agentlb::bench::PayloadKind;
using agentlb::wire::App;
using namespace std::chrono_literals;

const agentlb::client::TimePoint kStart = agentlb::client::TimePoint{} + 100s;

App command(std::int64_t sequence, std::uint64_t counter, std::int64_t floor = 1) {
    App app;
    app.kind = "message";
    app.app = "cloud";
    app.epoch = 5;
    app.sequence = sequence;
    app.floor = floor;
    app.content_type = "bench/command";
    app.payload = make_payload(PayloadKind::command, counter, 40);
    return app;
}

App ack_of_answer(std::int64_t epoch, std::int64_t sequence) {
    App app;
    app.kind = "ack";
    app.app = "cloud";
    app.epoch = epoch;
    app.sequence = sequence;
    return app;
}

HostAppSettings settings() {
    HostAppSettings s;
    s.answer_bytes = 40;
    s.epoch = 77;
    return s;
}

}  // namespace

TEST_CASE("a host acknowledges a command, then answers it with reply_to its sequence") {
    const auto s = settings();
    HostStreams host(s);
    const auto out = host.on_app(command(1, 1), kStart);
    REQUIRE(out.size() == 2);
    CHECK(out[0].kind == "ack");
    CHECK(out[0].epoch == 5);
    CHECK(out[0].sequence == 1);
    CHECK(out[1].kind == "message");
    CHECK(out[1].app == "cloud");
    CHECK(out[1].epoch == 77);
    CHECK(out[1].sequence == 1);
    CHECK(out[1].floor == 1);
    CHECK(out[1].reply_to == 1);
    CHECK(out[1].payload == make_payload(PayloadKind::answer, 1, 40));
    CHECK(host.held() == 1);
    CHECK(host.on_app(ack_of_answer(77, 1), kStart).empty());
    CHECK(host.held() == 0);
    CHECK(host.counts().commands == 1);
    CHECK(host.counts().answers_acknowledged == 1);
}

TEST_CASE("a repeated command is acknowledged again and not answered twice") {
    const auto s = settings();
    HostStreams host(s);
    host.on_app(command(1, 1), kStart);
    const auto again = host.on_app(command(1, 1), kStart);
    REQUIRE(again.size() == 1);
    CHECK(again[0].kind == "ack");
    CHECK(again[0].sequence == 1);
    CHECK(host.counts().repeats == 1);
    CHECK(host.counts().answers == 1);
    CHECK(host.counts().duplicated == 0);
}

TEST_CASE("an early command waits for the one before it, and nothing is acknowledged before it") {
    const auto s = settings();
    HostStreams host(s);
    // Sequence 2 first: nothing handed on, and an ack of 0 is no frame at all.
    CHECK(host.on_app(command(2, 2), kStart).empty());
    const auto out = host.on_app(command(1, 1), kStart);
    REQUIRE(out.size() == 3);
    CHECK(out[0].kind == "ack");
    CHECK(out[0].sequence == 2);
    CHECK(out[1].reply_to == 1);
    CHECK(out[2].reply_to == 2);
    CHECK(host.counts().reordered == 0);
}

TEST_CASE("the commands of one read are acknowledged once, cumulatively, and each answered") {
    const auto s = settings();
    HostStreams host(s);
    const auto out = host.on_apps({command(1, 1), command(2, 2), command(3, 3)}, kStart);
    REQUIRE(out.size() == 4);
    CHECK(out[0].kind == "ack");
    CHECK(out[0].epoch == 5);
    CHECK(out[0].sequence == 3);
    for (std::size_t i = 1; i < out.size(); ++i) {
        CHECK(out[i].kind == "message");
        CHECK(out[i].sequence == static_cast<std::int64_t>(i));
        CHECK(out[i].reply_to == static_cast<std::int64_t>(i));
    }
    // A repeat in a read with a new command: still one ack, of the newest.
    const auto next = host.on_apps({command(3, 3), command(4, 4)}, kStart);
    REQUIRE(next.size() == 2);
    CHECK(next[0].kind == "ack");
    CHECK(next[0].sequence == 4);
    CHECK(next[1].reply_to == 4);
    CHECK(host.counts().repeats == 1);
    CHECK(host.counts().answers == 4);
}

TEST_CASE("the host's checks count a counter out of order or handed on twice") {
    const auto s = settings();
    HostStreams host(s);
    host.on_app(command(1, 1), kStart);
    host.on_app(command(2, 3), kStart);  // counter 2 skipped
    host.on_app(command(3, 2), kStart);  // ... and then late
    host.on_app(command(4, 3), kStart);  // 3 again
    CHECK(host.counts().commands == 3);
    CHECK(host.counts().reordered == 1);
    CHECK(host.counts().duplicated == 1);
}

TEST_CASE("unacknowledged answers go again after resend_after, and on a new session") {
    const auto s = settings();
    HostStreams host(s);
    host.on_app(command(1, 1), kStart);
    CHECK(host.on_tick(kStart + 500ms).empty());
    const auto resent = host.on_tick(kStart + 1s);
    REQUIRE(resent.size() == 1);
    CHECK(resent[0].sequence == 1);
    const auto reset = host.on_link_reset(kStart + 1100ms);
    REQUIRE(reset.size() == 1);
    CHECK(reset[0].sequence == 1);
    // An ack of another epoch is not ours.
    host.on_app(ack_of_answer(76, 1), kStart + 1200ms);
    CHECK(host.held() == 1);
}

TEST_CASE("across a failover: what was acknowledged stays settled, the rest goes again once, in order") {
    const auto s = settings();
    HostStreams host(s);
    // Three commands answered on the first session; only the first answer acknowledged.
    for (std::int64_t i = 1; i <= 3; ++i) {
        host.on_app(command(i, static_cast<std::uint64_t>(i)), kStart);
    }
    host.on_app(ack_of_answer(77, 1), kStart + 10ms);
    CHECK(host.held() == 2);
    // The server dies: nothing is sent until a new session, and nothing expires in a second.
    host.on_tick_without_session(kStart + 1s);
    CHECK(host.held() == 2);
    // The new session: answers 2 and 3 go again, in order, each once.
    const auto reset = host.on_link_reset(kStart + 1500ms);
    REQUIRE(reset.size() == 2);
    CHECK(reset[0].sequence == 2);
    CHECK(reset[0].reply_to == 2);
    CHECK(reset[1].sequence == 3);
    CHECK(reset[1].reply_to == 3);
    // The application resends command 3 (its ack died with the server): acknowledged again, not answered.
    const auto again = host.on_app(command(3, 3, 2), kStart + 1600ms);
    REQUIRE(again.size() == 1);
    CHECK(again[0].kind == "ack");
    CHECK(again[0].sequence == 3);
    host.on_app(ack_of_answer(77, 3), kStart + 1700ms);
    CHECK(host.held() == 0);
    CHECK(host.counts().commands == 3);
    CHECK(host.counts().answers == 3);
    CHECK(host.counts().duplicated == 0);
    CHECK(host.counts().repeats == 1);
    CHECK(host.counts().given_up == 0);
}

TEST_CASE("answers held while no session is established expire at their time to live") {
    auto s = settings();
    s.sender.ttl = std::chrono::milliseconds(2000);
    HostStreams host(s);
    host.on_app(command(1, 1), kStart);
    host.on_tick_without_session(kStart + 1999ms);
    CHECK(host.held() == 1);
    host.on_tick_without_session(kStart + 2000ms);
    CHECK(host.held() == 0);
    CHECK(host.counts().given_up == 1);
    CHECK(host.on_link_reset(kStart + 2100ms).empty());
}
