// The platform's own messages (issue 19) end to end through real processes:
// an application on agentlb-mgmt's --app-socket and a host's own software
// on agentlb-agent's, speaking the local protocol through the client
// library's Connection. Messages and acks both ways, what cannot be
// delivered coming back with a reason, a 10 MiB frame refused without
// disturbing anyone else, one host client at a time, and the sockets'
// permission checks at start-up.

#include "client/agentlb_client.hpp"
#include "tests/agent/agent_cluster.hpp"
#include "tests/support/net_probe.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;
using client::Connection;
using client::Frame;
using client::FrameKind;

namespace {

constexpr std::uint64_t kHostEpoch = 100;
constexpr std::uint64_t kAppEpoch = 200;

Frame app_frame(FrameKind kind,
                std::string peer,
                std::uint64_t epoch,
                std::uint64_t sequence,
                std::string payload = "",
                std::uint64_t reply_to = 0) {
    Frame frame;
    frame.kind = kind;
    frame.peer = std::move(peer);
    frame.epoch = epoch;
    frame.sequence = sequence;
    if (kind == FrameKind::message) {
        frame.floor = sequence;
        frame.content_type = "application/json";
        frame.reply_to = reply_to;
    }
    frame.payload = std::move(payload);
    return frame;
}

Frame next_frame(Connection& connection, const std::string& logs) {
    auto frame = connection.receive(5s);
    INFO(logs);
    REQUIRE(frame);
    return *frame;
}

unsigned socket_mode(const std::filesystem::path& path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    return st.st_mode & 07777;
}

double app_frames(const ManagedServer& server, const std::string& direction) {
    const auto response = http_get(server.admin_port(), "/metrics");
    return metric_value(response.body, "agentlb_app_frames_total{direction=\"" + direction + "\"}")
        .value_or(-1);
}

// A raw connection to a Unix socket, for bytes the library would refuse to send.
int raw_connect(const std::filesystem::path& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0);
    return fd;
}

std::string read_all_until_closed(int fd) {
    std::string bytes;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) {
            return bytes;
        }
        bytes.append(buffer, static_cast<std::size_t>(n));
    }
}

// One server and one enrolled agent, each with its app socket, the agent
// connected.
struct AppCluster {
    CaFixture fixture;
    TempDir root;
    const std::filesystem::path ms1_socket = root.path() / "ms1-app.sock";
    const std::filesystem::path h1_socket = root.path() / "h1-app.sock";
    ManagedServer ms1{fixture, "ms1", "127.0.0.1"};
    AgentProcess agent{root, "h1"};

    AppCluster() {
        fixture.set_config("host", ms1.address());
        ms1.start({"--app-socket", ms1_socket.string()});
        agent.start_enrolling(fixture, ms1, {"--app-socket", h1_socket.string()});
        REQUIRE(wait_until([&] { return connected_to(fixture, "h1") == std::optional<std::string>("ms1"); },
                           15s));
    }

    std::string logs() { return "--- agent\n" + tail(agent.log()) + "--- ms1\n" + tail(ms1.log()); }
};

}  // namespace

TEST_CASE_METHOD(AppCluster, "an application and a host's own software exchange messages through agentlb") {
    CHECK(socket_mode(ms1_socket) == 0660);
    CHECK(socket_mode(h1_socket) == 0660);

    Connection host = Connection::open(h1_socket.string(), "kvm-agent", kHostEpoch);
    Connection app = Connection::open(ms1_socket.string(), "cloudstack", kAppEpoch);
    CHECK(host.welcomed_by() == "h1");
    CHECK(app.welcomed_by() == "ms1");

    // A command to the host, its acknowledgement, its answer, and that one's.
    const std::string command = std::string("{\"cmd\":\"StartCommand\",\"bytes\":\"\0\xff\"}", 36);
    app.send(app_frame(FrameKind::message, "h1", kAppEpoch, 1, command));
    const Frame got = next_frame(host, logs());
    CHECK(got == app_frame(FrameKind::message, "cloudstack", kAppEpoch, 1, command));

    host.send(app_frame(FrameKind::ack, "cloudstack", kAppEpoch, 1));
    CHECK(next_frame(app, logs()) == app_frame(FrameKind::ack, "h1", kAppEpoch, 1));

    host.send(app_frame(FrameKind::message, "cloudstack", kHostEpoch, 1, "{\"result\":true}", 1));
    const Frame answer = next_frame(app, logs());
    CHECK(answer == app_frame(FrameKind::message, "h1", kHostEpoch, 1, "{\"result\":true}", 1));
    app.send(app_frame(FrameKind::ack, "h1", kHostEpoch, 1));
    CHECK(next_frame(host, logs()) == app_frame(FrameKind::ack, "cloudstack", kHostEpoch, 1));

    CHECK(app_frames(ms1, "to_host") == 2);
    CHECK(app_frames(ms1, "from_host") == 2);

    SECTION("what cannot be delivered comes back to its sender with a reason") {
        app.send(app_frame(FrameKind::message, "nobody", kAppEpoch, 2, "x"));
        const Frame refused = next_frame(app, logs());
        CHECK(refused.kind == FrameKind::undeliverable);
        CHECK(refused.peer == "nobody");
        CHECK(refused.sequence == 2);
        CHECK_THAT(refused.payload,
                   Catch::StartsWith("host 'nobody' has no session with an app socket on server ms1"));

        host.send(app_frame(FrameKind::message, "monitoring", kHostEpoch, 2, "x"));
        const Frame back = next_frame(host, logs());
        CHECK(back.kind == FrameKind::undeliverable);
        CHECK(back.peer == "monitoring");
        CHECK(back.epoch == kHostEpoch);
        CHECK(back.sequence == 2);
        CHECK(back.payload == "no application 'monitoring' is connected to server ms1");
    }

    SECTION("a 10 MiB frame is refused with what was wrong, and nobody else notices") {
        Frame huge = app_frame(FrameKind::message, "h1", kAppEpoch, 2, std::string(10 * 1024 * 1024, 'x'));
        CHECK_THROWS_WITH(app.send(huge), "not sent: message: payload of 10485760 bytes: at most 32768");

        const int raw = raw_connect(ms1_socket);
        std::string bytes;
        std::string error;
        REQUIRE(client::encode_frame(Frame{FrameKind::hello, 7, 0, 0, 0, "bulk", "", ""}, bytes, error));
        const std::size_t length = 10 * 1024 * 1024 + client::kFixedBodySize;
        for (int shift = 24; shift >= 0; shift -= 8) {
            bytes.push_back(static_cast<char>((length >> shift) & 0xff));
        }
        bytes += std::string(64 * 1024, 'y');
        REQUIRE(::send(raw, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
        client::FrameReader reader;
        const std::string answer_bytes = read_all_until_closed(raw);
        ::close(raw);
        reader.feed(answer_bytes.data(), answer_bytes.size());
        const auto welcome = reader.next();
        REQUIRE(welcome);
        CHECK(welcome->kind == FrameKind::welcome);
        const auto refusal = reader.next();
        REQUIRE(refusal);
        CHECK(refusal->kind == FrameKind::error);
        CHECK(refusal->payload == "frame of 10485795 bytes: at most 33313 (a payload of at most 32768)");

        app.send(app_frame(FrameKind::message, "h1", kAppEpoch, 2, "still here"));
        CHECK(next_frame(host, logs()).payload == "still here");
    }

    SECTION("a host's socket takes one client at a time") {
        CHECK_THROWS_WITH(
            Connection::open(h1_socket.string(), "second", 1),
            "refused by " + h1_socket.string() +
                ": another client ('kvm-agent') holds this host's app socket: one client per host");
        // The first client's streams go on.
        app.send(app_frame(FrameKind::message, "h1", kAppEpoch, 2, "after"));
        CHECK(next_frame(host, logs()).payload == "after");
    }
}

TEST_CASE("an app socket in a folder anyone may write to, or over a file, is refused at start-up") {
    CaFixture fixture;
    TempDir root;
    const auto open_folder = root.path() / "open";
    std::filesystem::create_directory(open_folder);
    std::filesystem::permissions(open_folder, std::filesystem::perms::all);

    AgentProcess agent(root, "h1");
    agent.start({"--app-socket", (open_folder / "app.sock").string()});
    CHECK(agent.wait(10s) == std::optional<int>(2));
    CHECK_THAT(agent.log(),
               Catch::Contains("app socket " + (open_folder / "app.sock").string() + ": its folder " +
                               open_folder.string() + " may be written by anyone"));

    const auto file = root.path() / "not-a-socket";
    std::ofstream(file) << "keep me\n";
    ManagedServer ms1(fixture, "ms1", "127.0.0.1");
    CHECK_THROWS_WITH(ms1.start({"--app-socket", file.string()}),
                      Catch::Contains("app socket " + file.string() + ": " + file.string() +
                                      " exists and is not a socket"));
    std::ifstream kept(file);
    std::string line;
    std::getline(kept, line);
    CHECK(line == "keep me");
}

namespace {

// Polls both clients in turn until `done` or `timeout`; every event is kept.
bool pump(client::Client& a,
          std::vector<client::Event>& a_events,
          client::Client& b,
          std::vector<client::Event>& b_events,
          const std::function<bool()>& done,
          std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        for (auto& event : a.poll(10ms)) {
            a_events.push_back(std::move(event));
        }
        for (auto& event : b.poll(10ms)) {
            b_events.push_back(std::move(event));
        }
    }
    return true;
}

std::vector<std::string> payloads_of(const std::vector<client::Event>& events, const std::string& from) {
    std::vector<std::string> out;
    for (const auto& event : events) {
        if (event.kind == client::Event::Kind::message && event.peer == from) {
            out.push_back(event.payload);
        }
    }
    return out;
}

bool all_delivered(const std::vector<client::Event>& events, std::uint64_t up_to) {
    return std::any_of(events.begin(), events.end(), [&](const client::Event& e) {
        return e.kind == client::Event::Kind::delivered && e.sequence >= up_to;
    });
}

}  // namespace

TEST_CASE_METHOD(AppCluster,
                 "nothing is lost or repeated through a server's SIGKILL and an agent's, both ways") {
    client::ClientSettings settings;
    settings.resend_after = 300ms;
    client::Client app(ms1_socket.string(), "cloudstack", settings);
    client::Client host(h1_socket.string(), "kvm-agent", settings);
    std::vector<client::Event> app_events;
    std::vector<client::Event> host_events;

    constexpr int kPerPhase = 100;
    std::vector<std::string> to_host;
    std::vector<std::string> to_app;
    const auto send_phase = [&](int phase) {
        for (int i = 0; i < kPerPhase; ++i) {
            to_host.push_back("command " + std::to_string(phase) + "." + std::to_string(i));
            to_app.push_back("answer " + std::to_string(phase) + "." + std::to_string(i));
            REQUIRE(app.send("h1", to_host.back(), "text/plain"));
            REQUIRE(host.send("cloudstack", to_app.back(), "text/plain"));
        }
    };
    const auto everything_through = [&] {
        return payloads_of(host_events, "cloudstack").size() >= to_host.size() &&
               payloads_of(app_events, "h1").size() >= to_app.size() &&
               all_delivered(app_events, to_host.size()) && all_delivered(host_events, to_app.size());
    };

    send_phase(0);
    REQUIRE(pump(app, app_events, host, host_events, everything_through, 20s));

    // Sent while the server is gone, and as it comes back (its socket file
    // is left behind by the SIGKILL and replaced at the restart).
    ms1.kill();
    send_phase(1);
    const auto never = [] { return false; };
    pump(app, app_events, host, host_events, never, 400ms);
    ms1.start({"--app-socket", ms1_socket.string()});
    INFO(logs());
    REQUIRE(pump(app, app_events, host, host_events, everything_through, 30s));

    // The agent killed in the middle of a burst, then started again.
    send_phase(2);
    pump(app, app_events, host, host_events, never, 30ms);
    agent.kill(SIGKILL);
    agent.wait(5s);
    agent.start({"--app-socket", h1_socket.string()});
    REQUIRE(pump(app, app_events, host, host_events, everything_through, 30s));

    // Each message once, in order, each way.
    CHECK(payloads_of(host_events, "cloudstack") == to_host);
    CHECK(payloads_of(app_events, "h1") == to_app);
    CHECK(app.unacknowledged() == 0);
    CHECK(host.unacknowledged() == 0);
    for (const auto& events : {app_events, host_events}) {
        CHECK(std::none_of(events.begin(), events.end(), [](const client::Event& e) {
            return e.kind == client::Event::Kind::given_up;
        }));
    }
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
