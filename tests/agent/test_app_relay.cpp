// The platform's own messages across servers (issue 19): the application on
// ms1, hosts on ms2 and ms3, every message forwarded over the peer link.
// Both ways with acks, what cannot be delivered coming back with a reason,
// an agent's certificate refused on the peer link, and nothing lost or
// repeated through a server's SIGKILL and a drain in the middle of a stream.

#include "client/agentlb_client.hpp"
#include "common/util/clock.hpp"
#include "tests/agent/agent_cluster.hpp"
#include "tests/agent/app_streams.hpp"
#include "tests/support/net_probe.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <optional>
#include <thread>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;
using client::Connection;
using client::Frame;
using client::FrameKind;

namespace {

constexpr std::uint64_t kRelayHostEpoch = 300;
constexpr std::uint64_t kRelayAppEpoch = 400;

const std::vector<std::string> kPeerListen{"--peer-listen", "127.0.0.1:0"};

std::vector<std::string> with_peer_link(std::vector<std::string> args) {
    args.insert(args.end(), kPeerListen.begin(), kPeerListen.end());
    return args;
}

double peer_relays(const ManagedServer& server, const std::string& direction) {
    const auto response = http_get(server.admin_port(), "/metrics");
    return metric_value(response.body, "agentlb_peer_relays_total{direction=\"" + direction + "\"}")
        .value_or(-1);
}

// Three servers with the peer link; the application's socket on ms1; h2
// (zone b: ms2, then ms3) and h3 (zone c: ms3, then ms2) with theirs.
struct RelayCluster {
    CaFixture fixture;
    TempDir root;
    const std::filesystem::path ms1_socket = root.path() / "ms1-app.sock";
    const std::filesystem::path h2_socket = root.path() / "h2-app.sock";
    const std::filesystem::path h3_socket = root.path() / "h3-app.sock";
    ManagedServer ms1{fixture, "ms1", "127.0.0.1"};
    ManagedServer ms2{fixture, "ms2", "127.0.0.1"};
    ManagedServer ms3{fixture, "ms3", "127.0.0.1"};
    AgentProcess h2{root, "h2"};
    AgentProcess h3{root, "h3"};

    RelayCluster() {
        fixture.set_config("host", ms1.address());
        REQUIRE(fixture.store().set_scoped_config({"b", ""}, "host", ms2.address() + "," + ms3.address()));
        REQUIRE(fixture.store().set_scoped_config({"c", ""}, "host", ms3.address() + "," + ms2.address()));
        ms1.start(with_peer_link({"--app-socket", ms1_socket.string()}));
        ms2.start(kPeerListen);
        ms3.start(kPeerListen);
        start_host(h2, "b", ms2, h2_socket);
        start_host(h3, "c", ms3, h3_socket);
        REQUIRE(wait_until([&] { return connected_to(fixture, "h2") == std::optional<std::string>("ms2"); },
                           15s));
        REQUIRE(wait_until([&] { return connected_to(fixture, "h3") == std::optional<std::string>("ms3"); },
                           15s));
    }

    void start_host(AgentProcess& agent,
                    const std::string& zone,
                    const ManagedServer& server,
                    const std::filesystem::path& socket) {
        auto args = enrolment_options(server, fixture.create_token(zone), fixture.anchor_fingerprint());
        args.insert(args.end(), {"--name", agent.name(), "--app-socket", socket.string()});
        agent.start(args);
    }

    std::string logs() const {
        std::string out;
        for (const ManagedServer* server : {&ms1, &ms2, &ms3}) {
            out += "--- " + server->name() + "\n" + tail(server->log(), 2500);
        }
        return out + "--- h2\n" + tail(h2.log(), 2500) + "--- h3\n" + tail(h3.log(), 2500);
    }
};

Frame next_relayed(Connection& connection, const std::string& logs) {
    auto frame = connection.receive(10s);
    INFO(logs);
    REQUIRE(frame);
    return *frame;
}

}  // namespace

TEST_CASE_METHOD(RelayCluster, "an application on one server and hosts on two others exchange messages") {
    Connection app = Connection::open(ms1_socket.string(), "cloudstack", kRelayAppEpoch);
    Connection on_h2 = Connection::open(h2_socket.string(), "kvm-agent", kRelayHostEpoch);
    Connection on_h3 = Connection::open(h3_socket.string(), "kvm-agent", kRelayHostEpoch);

    for (auto [host, connection] : {std::pair<std::string, Connection*>{"h2", &on_h2}, {"h3", &on_h3}}) {
        INFO(host);
        // A command to the host and its acknowledgement back to the application.
        app.send(local_frame(FrameKind::message, host, kRelayAppEpoch, 1, std::string("start vm-1\0", 11)));
        CHECK(next_relayed(*connection, logs()) ==
              local_frame(
                  FrameKind::message, "cloudstack", kRelayAppEpoch, 1, std::string("start vm-1\0", 11)));
        connection->send(local_frame(FrameKind::ack, "cloudstack", kRelayAppEpoch, 1));
        CHECK(next_relayed(app, logs()) == local_frame(FrameKind::ack, host, kRelayAppEpoch, 1));
        // The answer and its acknowledgement back to the host.
        connection->send(local_frame(FrameKind::message, "cloudstack", kRelayHostEpoch, 1, "started"));
        CHECK(next_relayed(app, logs()) ==
              local_frame(FrameKind::message, host, kRelayHostEpoch, 1, "started"));
        app.send(local_frame(FrameKind::ack, host, kRelayHostEpoch, 1));
        CHECK(next_relayed(*connection, logs()) ==
              local_frame(FrameKind::ack, "cloudstack", kRelayHostEpoch, 1));
    }
    CHECK(peer_relays(ms1, "sent") >= 4);
    CHECK(peer_relays(ms2, "received") >= 2);
    CHECK(peer_relays(ms3, "received") >= 2);

    // A message for no host, for a host that is removed, for no application.
    app.send(local_frame(FrameKind::message, "nope", kRelayAppEpoch, 2, "x"));
    auto unknown = next_relayed(app, logs());
    CHECK(unknown.kind == FrameKind::undeliverable);
    CHECK(unknown.payload == "host 'nope' is unknown");

    on_h2.send(local_frame(FrameKind::message, "nobody", kRelayHostEpoch, 2, "x"));
    auto no_application = next_relayed(on_h2, logs());
    CHECK(no_application == local_frame(FrameKind::undeliverable,
                                        "nobody",
                                        kRelayHostEpoch,
                                        2,
                                        "no application 'nobody' is connected to any server"));

    REQUIRE(fixture.store().remove_host("h3"));
    REQUIRE(wait_until(
        [&] {
            const auto metrics = http_get(ms3.admin_port(), "/metrics").body;
            return metric_value(metrics, "agentlb_revoked_sessions_closed_total").value_or(0) >= 1;
        },
        15s));
    app.send(local_frame(FrameKind::message, "h3", kRelayAppEpoch, 3, "x"));
    auto removed = next_relayed(app, logs());
    CHECK(removed.kind == FrameKind::undeliverable);
    CHECK(removed.sequence == 3);
    CHECK_THAT(removed.payload,
               Catch::Matches("host 'h3' (is unknown|has no session with an app socket on server ms3)"));
}

TEST_CASE_METHOD(RelayCluster, "the peer link refuses an agent's certificate and says so") {
    std::string peer_address;
    for (const auto& server : fixture.store().list_servers()) {
        if (server.name == "ms2") {
            peer_address = server.peer_address;
        }
    }
    REQUIRE_THAT(peer_address, Catch::StartsWith("127.0.0.1:"));
    const auto intruder = fixture.enroll("intruder");
    const auto key = root.path() / "intruder.key";
    const auto cert = root.path() / "intruder.crt";
    const auto ca = root.path() / "ca.crt";
    std::ofstream(key) << intruder.key_pem;
    std::ofstream(cert) << intruder.cert_pem;
    std::ofstream(ca) << fixture.ca_pem();
    run_command({"/usr/bin/openssl",
                 "s_client",
                 "-connect",
                 peer_address,
                 "-tls1_3",
                 "-cert",
                 cert.string(),
                 "-key",
                 key.string(),
                 "-CAfile",
                 ca.string()},
                10s);
    REQUIRE(wait_until(
        [&] {
            return ms2.log().find(
                       "peer link from an unidentified server closed: TLS handshake: client certificate "
                       "is not valid for server authentication") != std::string::npos;
        },
        10s));
    // The link still carries messages for the servers.
    Connection app = Connection::open(ms1_socket.string(), "cloudstack", kRelayAppEpoch);
    Connection on_h2 = Connection::open(h2_socket.string(), "kvm-agent", kRelayHostEpoch);
    app.send(local_frame(FrameKind::message, "h2", kRelayAppEpoch, 1, "still here"));
    CHECK(next_relayed(on_h2, logs()).payload == "still here");
}

TEST_CASE_METHOD(RelayCluster,
                 "nothing is lost or repeated across servers through a SIGKILL and a drain, both ways") {
    TwoWayStreams streams(ms1_socket.string(), h2_socket.string(), "h2");
    streams.send_phase(0);
    REQUIRE(streams.through(20s));

    // ms2, holding h2, killed in the middle of a burst: h2 fails over to ms3.
    streams.send_phase(1);
    streams.pump_for(30ms);
    ms2.kill();
    INFO(logs());
    REQUIRE(streams.through(30s));
    CHECK(connected_to(fixture, "h2") == std::optional<std::string>("ms3"));

    // ms2 back, then ms3 drained in the middle of a burst: h2 moves to ms2.
    ms2.start(kPeerListen);
    streams.send_phase(2);
    streams.pump_for(30ms);
    REQUIRE(fixture.store().begin_maintenance("ms3", util::unix_now(), 30));
    REQUIRE(streams.through(30s));
    REQUIRE(streams.pump_until(
        [&] { return connected_to(fixture, "h2") == std::optional<std::string>("ms2"); }, 15s));
    streams.send_phase(3);
    REQUIRE(streams.through(30s));

    // Each message once, in order, each way.
    CHECK(streams.at_host() == streams.sent_to_host());
    CHECK(streams.at_app() == streams.sent_to_app());
    CHECK(streams.unacknowledged() == 0);
    CHECK_FALSE(streams.any_given_up());
}

TEST_CASE_METHOD(
    RelayCluster,
    "with an application on two servers, hosts' messages go to the instance that started first") {
    // A second instance on ms2 (its own --app-socket), started after the first.
    const auto ms2_socket = root.path() / "ms2-app.sock";
    ms2.kill();
    ms2.start(with_peer_link({"--app-socket", ms2_socket.string()}));
    std::optional<Connection> first = Connection::open(ms1_socket.string(), "cloudstack", kRelayAppEpoch);
    Connection second = Connection::open(ms2_socket.string(), "cloudstack", kRelayAppEpoch + 1);
    Connection on_h3 = Connection::open(h3_socket.string(), "kvm-agent", kRelayHostEpoch);
    // Both instances are recorded where every server reads them.
    REQUIRE(wait_until([&] { return fixture.store().applications_named("cloudstack").size() == 2; }, 10s));

    // h3's messages (h3 is on ms3) go to the first instance, on ms1.
    on_h3.send(local_frame(FrameKind::message, "cloudstack", kRelayHostEpoch, 1, "to the first"));
    CHECK(next_relayed(*first, logs()).payload == "to the first");
    // The second instance's own command is answered back to it.
    second.send(local_frame(FrameKind::message, "h3", kRelayAppEpoch + 1, 1, "from the second"));
    CHECK(next_relayed(on_h3, logs()).payload == "from the second");
    on_h3.send(local_frame(FrameKind::ack, "cloudstack", kRelayAppEpoch + 1, 1));
    CHECK(next_relayed(second, logs()) == local_frame(FrameKind::ack, "h3", kRelayAppEpoch + 1, 1));

    // The first instance leaves: once the servers have seen it go (their
    // view of where applications are lasts a second), the next message goes
    // to the second.
    first.reset();
    std::this_thread::sleep_for(2500ms);
    on_h3.send(local_frame(FrameKind::message, "cloudstack", kRelayHostEpoch, 2, "to the second"));
    CHECK(next_relayed(second, logs()).payload == "to the second");
}

TEST_CASE_METHOD(RelayCluster, "a host that was connected nowhere gets its messages as soon as it is back") {
    Connection app = Connection::open(ms1_socket.string(), "cloudstack", kRelayAppEpoch);
    // h2 stops cleanly: its record goes, and a message for it comes back.
    h2.kill(SIGTERM);
    REQUIRE(h2.wait(10s));
    REQUIRE(wait_until([&] { return !connected_to(fixture, "h2"); }, 10s));
    app.send(local_frame(FrameKind::message, "h2", kRelayAppEpoch, 1, "while away"));
    const auto away = next_relayed(app, logs());
    CHECK(away.kind == FrameKind::undeliverable);
    CHECK(away.payload == "host 'h2' is not connected to any server");

    // Back within a second: the next try reaches it (nothing of "away" is
    // remembered for the seconds a place is cached).
    h2.start({"--app-socket", h2_socket.string()});
    REQUIRE(
        wait_until([&] { return connected_to(fixture, "h2") == std::optional<std::string>("ms2"); }, 15s));
    REQUIRE(wait_until([&] { return std::filesystem::exists(h2_socket); }, 5s));
    Connection on_h2 = Connection::open(h2_socket.string(), "kvm-agent", kRelayHostEpoch);
    app.send(local_frame(FrameKind::message, "h2", kRelayAppEpoch, 1, "while away"));
    const auto arrived = on_h2.receive(3s);  // well within the 5 s a place is cached
    REQUIRE(arrived);
    CHECK(arrived->payload == "while away");
}
