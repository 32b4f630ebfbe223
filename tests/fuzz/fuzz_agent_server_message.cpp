// Every server message as the agent handles it (the protocol core's
// AgentMachine, and the list push of agent/list_push.hpp), from the payload to
// what the agent would store, adopt, send or log.
//
// Input: one byte choosing the session's state (before or after welcome, a
// renewal pending or not, pings sent, the server's entry, the list held, a
// full disk), then the payload. A
// certificate message may name "@issued", "@other" (a certificate from
// another CA), "@ca" and "@other-ca": they stand for real PEM made at start-up,
// so the fuzzer reaches the checks behind the PEM parser.
//
// Properties: only server messages are handled, anything else ends the
// session; a pong never answers more than was sent; a ping's pong round-trips;
// a list is stored, adopted and acknowledged in that order or not at all (the
// machine's ack only after the store said so), and
// what is stored reads back (after a restart) as exactly the list adopted; a
// migrate always avoids the server that sent it; a certificate is taken only
// when it is for the pending key, from the pinned CA and for our name; error text
// is safe to log.

#include "agent/agent_state.hpp"
#include "agent/list_push.hpp"
#include "agent/renewal_check.hpp"
#include "certs/ca.hpp"
#include "certs/inspect.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "common/protocol/agent_machine.hpp"
#include "common/protocol/connection_policy.hpp"
#include "common/wire/frame.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

namespace agent = agentlb::agent;
namespace protocol = agentlb::protocol;
namespace certs = agentlb::certs;
namespace wire = agentlb::wire;
using agentlb::fuzz::free_of_control_bytes;

namespace {

constexpr std::string_view kIdentity = "agent-1";
constexpr std::time_t kNow = 1'800'000'000;  // within every fixture certificate's validity

struct Pems {
    std::string pending_key;
    std::string issued;  // for pending_key, CN kIdentity, by ca
    std::string ca;
    std::string other;  // for pending_key, CN kIdentity, by other_ca
    std::string other_ca;
};
Pems g_pems;

struct IssuedPair {
    std::string ca;
    std::string certificate;
};

IssuedPair issue_with_new_ca(const std::filesystem::path& dir, const std::string& csr) {
    FUZZ_CHECK(certs::create_ca(dir).ok(), "fixture CA");
    auto ca = certs::CertificateAuthority::load(dir);
    FUZZ_CHECK(ca.ok(), "fixture CA loads");
    certs::IssueOptions options;
    options.common_name = std::string(kIdentity);
    options.validity = std::chrono::hours(24 * 3650);
    auto issued = ca->issue(csr, options);
    FUZZ_CHECK(issued.ok(), "fixture certificate");
    return {ca->certificate_pem(), issued->pem};
}

std::string expand(const std::string& text) {
    if (text == "@issued") {
        return g_pems.issued;
    }
    if (text == "@other") {
        return g_pems.other;
    }
    if (text == "@ca") {
        return g_pems.ca;
    }
    if (text == "@other-ca") {
        return g_pems.other_ca;
    }
    return text;
}

// Records what apply_push asks for; "persists" into a properties file.
class RecordingTarget : public agent::PushTarget {
public:
    explicit RecordingTarget(bool disk_full) : disk_full_(disk_full) {}
    agentlb::Status persist(const agent::ListUpdate& update) override {
        FUZZ_CHECK(!adopted && !acked, "a list is stored before it is adopted");
        if (disk_full_) {
            return agentlb::fail("disk full");
        }
        agent::put_list(file, update);
        persisted = true;
        return agentlb::success();
    }
    void adopt(const agent::ListPush&) override {
        FUZZ_CHECK(!acked, "a list is adopted before it is acknowledged");
        adopted = true;
    }
    void ack(std::int64_t seq) override {
        FUZZ_CHECK(adopted, "only an adopted list is acknowledged");
        acked = true;
        acked_seq = seq;
    }
    agentlb::props::PropertiesFile file;
    bool persisted = false;
    bool adopted = false;
    bool acked = false;
    std::int64_t acked_seq = -1;

private:
    bool disk_full_;
};

// True when the list was stored (or already held) and adopted.
bool handle_list(const wire::MsList& list, std::uint8_t state) {
    const agent::ListPush push = agent::to_list_push(list);
    agent::AgentSettings held;
    if (state & 8) {
        held.hosts = {"ms1.example", "10.0.0.2:8250"};
        held.algorithm = "static";
    }
    RecordingTarget target((state & 64) != 0);
    const auto applied = agent::apply_push(push, held, target);
    if (!applied) {
        FUZZ_CHECK(!target.adopted && !target.acked, "a refused list is neither adopted nor acknowledged");
        FUZZ_CHECK(free_of_control_bytes(applied.error()), "the refusal is safe to log");
        return false;
    }
    FUZZ_CHECK(target.adopted && target.acked && target.acked_seq == list.seq,
               "an applied list is acknowledged");
    FUZZ_CHECK(!list.list.empty(), "an empty list is never adopted");
    if (!target.persisted) {
        FUZZ_CHECK(held.hosts == list.list && held.algorithm == list.algorithm &&
                       held.check_interval == list.interval,
                   "only the list already held skips the write");
        return true;
    }
    // What a restarted agent reads back, and reports in its next hello.
    auto text = target.file.serialize();
    auto reread = agentlb::props::PropertiesFile::parse(text, "agent.properties");
    FUZZ_CHECK(reread.ok(), "a stored list parses");
    auto settings = agent::settings_from_properties(*reread, "/etc/agentlb/agent.properties");
    FUZZ_CHECK(settings.ok(), "a stored list is read back at the next start");
    FUZZ_CHECK(settings->hosts == list.list && settings->algorithm == list.algorithm &&
                   settings->check_interval == list.interval,
               "the list read back is the list adopted");
    auto reported = agentlb::lb::parse_agent_host_value(settings->held_list());
    FUZZ_CHECK(reported.ok() && reported->hosts == list.list, "the next hello reports the adopted list");
    return true;
}

void handle_certificate(const wire::Certificate& raw, std::uint8_t state) {
    if ((state & 16) == 0) {
        return;  // no renewal pending: the agent ignores it before any check
    }
    const wire::Certificate message{expand(raw.certificate), expand(raw.ca)};
    const std::string identity = (state & 32) ? "agent-2" : std::string(kIdentity);
    auto checked = agent::check_renewed_certificate(g_pems.ca, g_pems.pending_key, identity, message, kNow);
    if (!checked) {
        FUZZ_CHECK(free_of_control_bytes(checked.error()), "the refusal is safe to log");
        return;
    }
    const auto& accepted = checked->renewed;
    FUZZ_CHECK(accepted.certificate != nullptr, "the certificate is parsed");
    FUZZ_CHECK(certs::common_name_of(accepted.certificate.get()) == identity, "only our name is taken");
    auto key = certs::parse_private_key_pem(accepted.key_pem);
    FUZZ_CHECK(key.ok() && certs::key_matches_certificate(key->get(), accepted.certificate.get()),
               "only a certificate for the pending key is taken");
    // No fixture CA is vouched for by ours, and a server can never swap the trust anchor.
    FUZZ_CHECK(!checked->new_ca && accepted.ca_pem == g_pems.ca, "the pinned CA stays the trust anchor");
    FUZZ_CHECK(accepted.cert_pem == message.certificate, "the certificate is stored as sent");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    char pattern[] = "/tmp/agentlb-fuzz-XXXXXX";
    const char* dir = ::mkdtemp(pattern);
    FUZZ_CHECK(dir != nullptr, "temporary folder");
    auto key = certs::generate_p256_key();
    FUZZ_CHECK(key.ok(), "fixture key");
    g_pems.pending_key = certs::private_key_to_pem(key->get());
    auto csr = certs::make_csr_pem(key->get(), kIdentity);
    FUZZ_CHECK(csr.ok(), "fixture CSR");
    auto ours = issue_with_new_ca(std::filesystem::path(dir) / "ca", *csr);
    auto theirs = issue_with_new_ca(std::filesystem::path(dir) / "other", *csr);
    g_pems.ca = ours.ca;
    g_pems.issued = ours.certificate;
    g_pems.other_ca = theirs.ca;
    g_pems.other = theirs.certificate;
    std::filesystem::remove_all(dir);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    const std::uint8_t state = data[0];
    const std::string_view payload(reinterpret_cast<const char*>(data + 1), size - 1);
    wire::Message message;
    std::string detail;
    if (wire::decode_message(payload, message, detail)) {
        return 0;  // the session ends with "protocol error: <detail>" (fuzz_message checks detail)
    }

    using Machine = protocol::AgentMachine;
    const auto t0 = protocol::TimePoint{} + std::chrono::hours(1000);
    const std::string entry = (state & 4) ? "[fd00::1]:8250" : "ms1.example";
    Machine machine(Machine::Settings{entry, std::chrono::seconds(10), std::chrono::seconds(10)});
    machine.start(wire::Hello{std::string(kIdentity), "default", "", 0, "fuzz"}, t0);
    // Bit 7 clear: the message arrives after welcome (bits 0-1: pings sent
    // before it); set: it answers hello. The seeds from before the machine
    // had it clear.
    const bool established = (state & 128) == 0;
    if (established) {
        machine.on_message(wire::Welcome{1, "ms1", 10, std::nullopt}, t0);
        for (int i = 0; i < (state & 3); ++i) {
            machine.on_timer(t0 + std::chrono::seconds(10 * (i + 1)));
        }
    }
    const std::int64_t pings_before = machine.pings_answered();
    auto actions = machine.on_message(message, t0);
    FUZZ_CHECK(machine.pings_answered() >= pings_before && machine.pings_answered() <= machine.pings_sent(),
               "a pong answers only pings sent");

    const bool server_sends =
        !(std::holds_alternative<wire::Hello>(message) || std::holds_alternative<wire::Ack>(message) ||
          std::holds_alternative<wire::Renew>(message) ||
          std::holds_alternative<wire::EnrollRequest>(message) ||
          std::holds_alternative<wire::EnrollResponse>(message));
    for (auto& action : actions) {
        if (auto* send = std::get_if<Machine::Send>(&action)) {
            const auto* ping = std::get_if<wire::Ping>(&message);
            FUZZ_CHECK(ping && send->message == wire::Message{wire::Pong{ping->seq}},
                       "only a ping is answered at once, with its seq");
            wire::Message decoded;
            FUZZ_CHECK(!wire::decode_message(wire::encode_message(send->message), decoded, detail) &&
                           decoded == send->message,
                       "the pong carries the ping's seq");
        } else if (auto* persist = std::get_if<Machine::Persist>(&action)) {
            FUZZ_CHECK(protocol::out_of_range(persist->list).empty(), "only lists in range are stored");
            const bool stored = handle_list(persist->list, state);
            auto acks = machine.on_persisted(persist->list.seq, stored, t0);
            if (stored) {
                FUZZ_CHECK(acks.size() == 1 && std::holds_alternative<Machine::Send>(acks[0]) &&
                               std::get<Machine::Send>(acks[0]).message ==
                                   wire::Message{wire::Ack{persist->list.seq}},
                           "a stored list is acknowledged");
            } else {
                FUZZ_CHECK(acks.empty(), "a list not stored is not acknowledged");
            }
        } else if (auto* migrate = std::get_if<Machine::Migrate>(&action)) {
            const auto& sent = std::get<wire::Migrate>(message);
            FUZZ_CHECK(std::any_of(migrate->avoid.begin(),
                                   migrate->avoid.end(),
                                   [&](const std::string& a) { return protocol::same_server(a, entry); }),
                       "the server that sent migrate is avoided");
            FUZZ_CHECK(migrate->avoid.size() <= sent.avoid.size() + 1 &&
                           std::equal(sent.avoid.begin(), sent.avoid.end(), migrate->avoid.begin()),
                       "the servers migrate names are kept");
            FUZZ_CHECK(free_of_control_bytes(migrate->reason), "the migrate reason is safe to log");
        } else if (auto* certificate = std::get_if<Machine::CertificateReceived>(&action)) {
            handle_certificate(certificate->certificate, state);
        } else if (auto* error = std::get_if<Machine::ServerError>(&action)) {
            FUZZ_CHECK(free_of_control_bytes(error->detail), "server error text is safe to log");
            FUZZ_CHECK(error->detail.size() <= 2 * (200 * 4 + 3) + 40, "server error text is bounded");
        } else if (auto* refused = std::get_if<Machine::Refused>(&action)) {
            FUZZ_CHECK(!established, "only an answer to hello is a refusal");
            FUZZ_CHECK(free_of_control_bytes(refused->detail), "the refusal is safe to log");
        } else if (auto* welcomed = std::get_if<Machine::Welcomed>(&action)) {
            FUZZ_CHECK(!established, "only the first welcome counts");
            FUZZ_CHECK(
                welcomed->heartbeat.count() > 0 && welcomed->heartbeat <= protocol::kMaxWelcomeHeartbeat,
                "the heartbeat period is positive and bounded");
        } else if (auto* close = std::get_if<Machine::Close>(&action)) {
            FUZZ_CHECK(free_of_control_bytes(close->detail), "the reason is safe to log");
            FUZZ_CHECK(machine.state() == Machine::State::closed, "a close closes");
            if (established) {
                const auto* list = std::get_if<wire::MsList>(&message);
                FUZZ_CHECK(!server_sends || (list && !protocol::out_of_range(*list).empty()),
                           "only messages no server sends, or values out of range, end the session");
            }
        }
    }
    if (established && !server_sends) {
        FUZZ_CHECK(machine.state() == Machine::State::closed, "a message no server sends ends the session");
    }
    return 0;
}
