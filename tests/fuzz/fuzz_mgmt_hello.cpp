// The server's answer to a hello, from the decoded message to the reply
// (protocol::ServerMachine, as agentlb-mgmt's AgentSession drives it).
//
// Input: one byte choosing the situation (what the certificate and the store
// say, the cluster's settings), then the hello payload. Properties: anything
// but a hello is never answered with welcome; a refusal has a known code, a
// message and a log text safe to print; a welcome names this host and server,
// its correction is numbered and leaves the agent holding a list the server
// would not correct again; the reply encodes into one frame and decodes to
// itself.

#include "common/lb/config_keys.hpp"
#include "common/lb/host_list.hpp"
#include "common/protocol/server_machine.hpp"
#include "common/wire/error_code.hpp"
#include "common/wire/frame.hpp"
#include "common/wire/messages.hpp"
#include "mgmt/cluster_state.hpp"
#include "mgmt/host_lookup.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

namespace mgmt = agentlb::mgmt;
namespace protocol = agentlb::protocol;
namespace wire = agentlb::wire;
using agentlb::fuzz::free_of_control_bytes;

namespace {

constexpr std::string_view kCommonName = "agent-1";
constexpr std::int64_t kHostId = 7;

struct Situation {
    bool identity_matches;  // else the certificate names another host
    bool registered;
    bool revoked;
    bool host_in_snapshot;  // else the store read the zone's ids itself
    bool server_down;
    bool host_unset;
    int algorithm;  // 0..2
    std::int64_t interval;
};

Situation situation_from(std::uint8_t b) {
    return Situation{(b & 1) == 0,
                     (b & 2) == 0,
                     (b & 4) != 0,
                     (b & 8) == 0,
                     (b & 16) != 0,
                     (b & 32) != 0 && (b & 64) != 0,
                     (b >> 5) % 3,
                     (b & 128) ? 300 : 0};
}

std::shared_ptr<const mgmt::ClusterSnapshot> snapshot_for(const Situation& s) {
    static const char* const kAlgorithms[] = {"static", "roundrobin", "shuffle"};
    agentlb::lb::LbSettings settings{{}, kAlgorithms[s.algorithm], s.interval};
    if (!s.host_unset) {
        settings.hosts = {"ms1.example:8250", "10.0.0.2", "[fd00::3]:8250"};
    }
    std::vector<agentlb::store::ServerRecord> servers;
    servers.push_back({"ms2", "10.0.0.2:8250", s.server_down ? "down" : "up", 0, 0, 0});
    std::map<std::string, std::vector<std::int64_t>> zones{{"zone-a", {3, 5, 9}}};
    if (s.host_in_snapshot) {
        zones["zone-a"].push_back(kHostId);
    }
    auto snapshot = mgmt::make_snapshot(42, std::move(settings), std::move(zones), std::move(servers));
    FUZZ_CHECK(snapshot.ok(), "the fuzz situation builds a snapshot");
    return std::make_shared<const mgmt::ClusterSnapshot>(std::move(*snapshot));
}

void check_reply_frame(const wire::Message& reply) {
    const std::string payload = wire::encode_message(reply);
    FUZZ_CHECK(wire::encode_frame(payload).ok(), "the reply fits in one frame");
    wire::Message decoded;
    std::string detail;
    FUZZ_CHECK(!wire::decode_message(payload, decoded, detail), "the reply decodes");
    FUZZ_CHECK(decoded == reply, "the reply decodes to itself");
}

// A refusal: an error frame with a known code, then a close that writes it
// first, its detail safe to log.
void check_refusal(const protocol::Actions& actions) {
    static const std::set<std::string> kCodes{
        "identity_mismatch", "revoked", "bad_certificate", "unknown_host"};
    FUZZ_CHECK(actions.size() == 2, "a refusal is an error, then a close");
    const auto* send = std::get_if<protocol::Send>(&actions[0]);
    FUZZ_CHECK(send != nullptr, "a refusal is sent");
    const auto* error = std::get_if<wire::Error>(&send->message);
    FUZZ_CHECK(error != nullptr, "a refusal is an error frame");
    FUZZ_CHECK(kCodes.count(error->code) == 1, "a refusal has a known code");
    FUZZ_CHECK(!error->message.empty(), "a refusal says why");
    const auto* close = std::get_if<protocol::Close>(&actions[1]);
    FUZZ_CHECK(close != nullptr && close->flush_first, "the session closes once the refusal is out");
    FUZZ_CHECK(free_of_control_bytes(close->detail), "the log text is safe");
    check_reply_frame(*error);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    const Situation s = situation_from(data[0]);
    const std::string_view payload(reinterpret_cast<const char*>(data + 1), size - 1);
    wire::Message message;
    std::string detail;
    if (wire::decode_message(payload, message, detail)) {
        return 0;  // refused by the session before any decision ("bad message")
    }
    const auto* hello = std::get_if<wire::Hello>(&message);
    if (hello == nullptr) {
        return 0;  // refused by the session: "the first message must be hello"
    }

    const std::string common_name = s.identity_matches ? hello->name : std::string(kCommonName);
    static const protocol::ServerSettings settings{"ms1", std::chrono::seconds(10), std::chrono::seconds(10)};
    const auto now = protocol::TimePoint{} + std::chrono::hours(1);
    protocol::ServerMachine machine(settings, now);
    protocol::SeqCounter seqs;
    for (int i = 0; i < 100; ++i) {
        seqs.next();
    }
    (void)machine.on_handshake_done(
        protocol::PeerCertificate{true, common_name, "0a1b", protocol::CertificateCheck::good, {}}, now);
    const auto answered = machine.on_message(*hello, now);
    if (hello->name != common_name) {
        check_refusal(answered);
        return 0;
    }
    FUZZ_CHECK(answered.size() == 1 && std::holds_alternative<protocol::LookupHost>(answered[0]),
               "a matching name is looked up");

    mgmt::HostRead read;
    if (s.registered) {
        read.host = agentlb::store::HostRecord{kHostId, hello->name, "zone-a", std::nullopt, 0, 0};
    }
    read.revoked = s.revoked;
    read.snapshot = snapshot_for(s);
    if (!s.host_in_snapshot) {
        read.ids = std::vector<std::int64_t>{3, 5, kHostId, 9};
    }
    read.generation = 42;
    const auto looked = machine.on_lookup(mgmt::host_lookup_from(read), seqs, now);
    if (!s.registered || s.revoked) {
        check_refusal(looked);
        FUZZ_CHECK(seqs.next() == 101, "a refusal uses no seq");
        return 0;
    }
    FUZZ_CHECK(looked.size() == 1 && std::holds_alternative<protocol::RecordConnection>(looked[0]),
               "the connection is recorded before welcome");
    const auto welcomed = machine.on_recorded(now);
    FUZZ_CHECK(welcomed.size() == 2, "welcome, then the driver's turn");
    const auto& welcome = std::get<wire::Welcome>(std::get<protocol::Send>(welcomed[0]).message);
    FUZZ_CHECK(welcome.host_id == kHostId && welcome.server == "ms1" && welcome.heartbeat_interval == 10,
               "welcome names this host and this server");
    const auto& snapshot = *read.snapshot;
    const auto computed =
        mgmt::compute_assignment(snapshot, std::vector<std::int64_t>{3, 5, kHostId, 9}, kHostId);
    const auto next_seq = seqs.next();
    if (welcome.correction) {
        FUZZ_CHECK(next_seq == 102 && welcome.correction->seq == 101, "a correction takes one new seq");
        const auto& c = *welcome.correction;
        FUZZ_CHECK((mgmt::Assignment{c.list, c.algorithm, c.interval, c.avoid} == machine.held()),
                   "the agent holds what the correction says");
        FUZZ_CHECK(!c.list.empty(), "a correction is never an empty list");
        auto reparsed = agentlb::lb::parse_host_list(agentlb::lb::join_host_list(c.list));
        FUZZ_CHECK(reparsed.ok() && *reparsed == c.list, "a correction is a valid host list");
    } else {
        FUZZ_CHECK(next_seq == 101, "no seq is used without a correction");
        FUZZ_CHECK(machine.held() == mgmt::held_from_hello(hello->list, hello->interval),
                   "without a correction the agent keeps what it reported");
    }
    FUZZ_CHECK(!mgmt::needs_update(machine.held(), computed, *snapshot.algorithm),
               "after welcome the agent holds a list the server would not correct");
    check_reply_frame(welcome);
    return 0;
}
