// The platform's own messages (issue 19) end to end through real processes:
// an application on agentlb-mgmt's --app-socket and a host's own software
// on agentlb-agent's, speaking the local protocol through the client
// library's Connection. Messages and acks both ways, what cannot be
// delivered coming back with a reason, a 10 MiB frame refused without
// disturbing anyone else, one host client at a time, and the sockets'
// permission checks at start-up.

#include "client/agentlb_client.hpp"
#include "tests/agent/agent_cluster.hpp"
#include "tests/agent/app_cluster.hpp"
#include "tests/agent/app_streams.hpp"
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
    app.send(local_frame(FrameKind::message, "h1", kAppEpoch, 1, command));
    const Frame got = next_frame(host, logs());
    CHECK(got == local_frame(FrameKind::message, "cloudstack", kAppEpoch, 1, command));

    host.send(local_frame(FrameKind::ack, "cloudstack", kAppEpoch, 1));
    CHECK(next_frame(app, logs()) == local_frame(FrameKind::ack, "h1", kAppEpoch, 1));

    host.send(local_frame(FrameKind::message, "cloudstack", kHostEpoch, 1, "{\"result\":true}", 1));
    const Frame answer = next_frame(app, logs());
    CHECK(answer == local_frame(FrameKind::message, "h1", kHostEpoch, 1, "{\"result\":true}", 1));
    app.send(local_frame(FrameKind::ack, "h1", kHostEpoch, 1));
    CHECK(next_frame(host, logs()) == local_frame(FrameKind::ack, "cloudstack", kHostEpoch, 1));

    CHECK(app_frames(ms1, "to_host") == 2);
    CHECK(app_frames(ms1, "from_host") == 2);

    SECTION("what cannot be delivered comes back to its sender with a reason") {
        app.send(local_frame(FrameKind::message, "nobody", kAppEpoch, 2, "x"));
        const Frame refused = next_frame(app, logs());
        CHECK(refused.kind == FrameKind::undeliverable);
        CHECK(refused.peer == "nobody");
        CHECK(refused.sequence == 2);
        CHECK_THAT(refused.payload,
                   Catch::StartsWith("host 'nobody' has no session with an app socket on server ms1"));

        host.send(local_frame(FrameKind::message, "monitoring", kHostEpoch, 2, "x"));
        const Frame back = next_frame(host, logs());
        CHECK(back.kind == FrameKind::undeliverable);
        CHECK(back.peer == "monitoring");
        CHECK(back.epoch == kHostEpoch);
        CHECK(back.sequence == 2);
        CHECK(back.payload == "no application 'monitoring' is connected to server ms1");
    }

    SECTION("a 10 MiB frame is refused with what was wrong, and nobody else notices") {
        Frame huge = local_frame(FrameKind::message, "h1", kAppEpoch, 2, std::string(10 * 1024 * 1024, 'x'));
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

        app.send(local_frame(FrameKind::message, "h1", kAppEpoch, 2, "still here"));
        CHECK(next_frame(host, logs()).payload == "still here");
    }

    SECTION("a host's socket takes one client at a time") {
        CHECK_THROWS_WITH(
            Connection::open(h1_socket.string(), "second", 1),
            "refused by " + h1_socket.string() +
                ": another client ('kvm-agent') holds this host's app socket: one client per host");
        // The first client's streams go on.
        app.send(local_frame(FrameKind::message, "h1", kAppEpoch, 2, "after"));
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

TEST_CASE_METHOD(AppCluster,
                 "a burst the agent cannot take now waits on the application's socket, nothing dropped") {
    Connection host = Connection::open(h1_socket.string(), "kvm-agent", kHostEpoch);
    Connection app = Connection::open(ms1_socket.string(), "cloudstack", kAppEpoch);
    constexpr std::uint64_t kBurst = 600;
    const std::string payload(16 * 1024, 'p');

    // The agent stopped: its session's socket fills, then the server's
    // queue; the application's next frames must wait on its own socket.
    agent.kill(SIGSTOP);
    std::thread sender([&] {
        for (std::uint64_t sequence = 1; sequence <= kBurst; ++sequence) {
            Frame frame = local_frame(FrameKind::message, "h1", kAppEpoch, sequence, payload);
            frame.floor = 1;
            app.send(frame);
        }
    });
    std::this_thread::sleep_for(1500ms);
    agent.kill(SIGCONT);

    std::vector<std::uint64_t> received;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (received.size() < kBurst && std::chrono::steady_clock::now() < deadline) {
        if (auto frame = host.receive(1s); frame && frame->kind == FrameKind::message) {
            received.push_back(frame->sequence);
        }
    }
    sender.join();
    INFO(logs());
    REQUIRE(received.size() == kBurst);
    for (std::uint64_t i = 0; i < kBurst; ++i) {
        REQUIRE(received[i] == i + 1);
    }
    const auto metrics = http_get(ms1.admin_port(), "/metrics").body;
    CHECK(metric_value(metrics, "agentlb_app_frames_dropped_total") == std::optional<double>(0));
}
