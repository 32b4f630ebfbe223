// The platform's own messages (issue 19) through real processes with the
// client library's Client at both ends: nothing lost or repeated through a
// server's and an agent's SIGKILL, request/answer, agentlbctl send, and the
// Python example of the host side.

#include "client/agentlb_client.hpp"
#include "tests/agent/app_cluster.hpp"
#include "tests/agent/app_streams.hpp"
#include "tests/support/process.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <mutex>
#include <thread>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

TEST_CASE_METHOD(AppCluster,
                 "nothing is lost or repeated through a server's SIGKILL and an agent's, both ways") {
    TwoWayStreams streams(ms1_socket.string(), h1_socket.string(), "h1");
    streams.send_phase(0);
    REQUIRE(streams.through(20s));

    // Sent while the server is gone, and as it comes back (its socket file
    // is left behind by the SIGKILL and replaced at the restart).
    ms1.kill();
    streams.send_phase(1);
    streams.pump_for(400ms);
    ms1.start({"--app-socket", ms1_socket.string()});
    INFO(logs());
    REQUIRE(streams.through(30s));

    // The agent killed in the middle of a burst, then started again.
    streams.send_phase(2);
    streams.pump_for(30ms);
    agent.kill(SIGKILL);
    agent.wait(5s);
    agent.start({"--app-socket", h1_socket.string()});
    REQUIRE(streams.through(30s));

    // Each message once, in order, each way.
    CHECK(streams.at_host() == streams.sent_to_host());
    CHECK(streams.at_app() == streams.sent_to_app());
    CHECK(streams.unacknowledged() == 0);
    CHECK_FALSE(streams.any_given_up());
}

TEST_CASE_METHOD(AppCluster, "request waits for the answer to its own message") {
    // The host's software answers every command on its own thread.
    std::atomic<bool> stop{false};
    std::thread host_thread([&] {
        client::Client host(h1_socket.string(), "kvm-agent");
        while (!stop) {
            for (const auto& event : host.poll(20ms)) {
                if (event.kind == client::Event::Kind::message) {
                    host.send(event.peer, "done: " + event.payload, "text/plain", event.sequence);
                }
            }
        }
    });
    client::Client app(ms1_socket.string(), "cloudstack");
    std::string why;
    const auto first = app.request("h1", "StopCommand", "text/plain", 10s, &why);
    INFO(why);
    REQUIRE(first);
    CHECK(first->payload == "done: StopCommand");
    CHECK(first->reply_to == 1);
    const auto second = app.request("h1", "StartCommand", "text/plain", 10s, &why);
    REQUIRE(second);
    CHECK(second->payload == "done: StartCommand");
    CHECK(second->reply_to == 2);

    // A host that is not there: given up after the time to live, saying why.
    client::ClientSettings short_lived;
    short_lived.ttl = 1500ms;
    client::Client hasty(ms1_socket.string(), "ops", short_lived);
    CHECK_FALSE(hasty.request("h9", "ping", "text/plain", 10s, &why));
    CHECK_THAT(
        why,
        Catch::StartsWith("not acknowledged within 1500 ms (last answer: host 'h9' has no session with an "
                          "app socket on server ms1"));
    stop = true;
    host_thread.join();
}

TEST_CASE_METHOD(AppCluster,
                 "agentlbctl send delivers to a host, waits for its answer, and says why when it cannot") {
    std::atomic<bool> stop{false};
    std::vector<std::string> heard;
    std::mutex heard_mutex;
    std::thread host_thread([&] {
        client::Client host(h1_socket.string(), "kvm-agent");
        while (!stop) {
            for (const auto& event : host.poll(20ms)) {
                if (event.kind == client::Event::Kind::message) {
                    {
                        std::lock_guard lock(heard_mutex);
                        heard.push_back(event.peer + ": " + event.payload);
                    }
                    host.send(event.peer, "uptime 42 days", "text/plain", event.sequence);
                }
            }
        }
    });
    const auto ctl = [&](std::vector<std::string> args) {
        std::vector<std::string> argv{AGENTLBCTL_BIN};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_command(argv, 20s);
    };

    const auto sent = ctl({"send", "h1", "--data", "hello", "--socket", ms1_socket.string()});
    CHECK(sent.exit_code == 0);
    CHECK(sent.out == "delivered to h1 (message 1)\n");
    const auto answered = ctl({"send", "h1", "--data", "uptime", "--wait", "--socket", ms1_socket.string()});
    CHECK(answered.exit_code == 0);
    CHECK(answered.out == "uptime 42 days\n");
    const auto json =
        ctl({"--json", "send", "h1", "--data", "uptime", "--wait", "--socket", ms1_socket.string()});
    CHECK(json.exit_code == 0);
    CHECK(nlohmann::json::parse(json.out) ==
          nlohmann::json{
              {"host", "h1"}, {"answer", "uptime 42 days"}, {"content_type", "text/plain"}, {"reply_to", 1}});

    const auto nowhere =
        ctl({"send", "h9", "--data", "hello", "--timeout", "1", "--socket", ms1_socket.string()});
    CHECK(nowhere.exit_code == 1);
    CHECK_THAT(
        nowhere.err,
        Catch::Contains("not delivered to h9: not acknowledged within 1000 ms (last answer: host 'h9' has "
                        "no session with an app socket on server ms1"));
    const auto too_big =
        ctl({"send", "h1", "--data", std::string(40000, 'x'), "--socket", ms1_socket.string()});
    CHECK(too_big.exit_code == 2);
    CHECK_THAT(too_big.err, Catch::Contains("not sent: message: payload of 40000 bytes: at most 32768"));
    stop = true;
    host_thread.join();
    std::lock_guard lock(heard_mutex);
    REQUIRE(heard.size() == 3);
    CHECK_THAT(heard[0], Catch::Matches("agentlbctl-[0-9]+: hello"));
}

TEST_CASE_METHOD(AppCluster,
                 "the Python example answers the application's commands, across a restart of its agent") {
    Process responder({"/usr/bin/python3", AGENTLB_PYTHON_EXAMPLE, "--socket", h1_socket.string()},
                      root.path() / "responder.log");
    client::Client app(ms1_socket.string(), "cloudstack");
    std::string why;
    for (const char* command : {"StartCommand", "StopCommand"}) {
        const auto answer = app.request("h1", command, "text/plain", 15s, &why);
        INFO(why << "\n" << responder.log());
        REQUIRE(answer);
        CHECK(answer->payload == std::string("done: ") + command);
    }
    agent.kill(SIGKILL);
    agent.wait(5s);
    agent.start({"--app-socket", h1_socket.string()});
    const auto after = app.request("h1", "MigrateCommand", "text/plain", 20s, &why);
    INFO(why << "\n" << responder.log());
    REQUIRE(after);
    CHECK(after->payload == "done: MigrateCommand");
    CHECK(after->reply_to == 3);
}
