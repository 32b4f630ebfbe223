#pragma once

// The answer to an agent's hello, decided without sockets or a store: the
// identity check, the result of the store lookup (unknown host, revoked
// serial), then the assignment and whether welcome carries a correction.
// AgentSession::accept_hello gathers the inputs and sends what this decides;
// the unit tests and the fuzz target call it directly.

#include "common/wire/messages.hpp"
#include "mgmt/cluster_state.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace agentlb::mgmt {

// An `error` frame for the agent. `code` is also the reason counted in
// metrics; `log` follows "refused <who>: <code>: " in the log (peer text escaped).
struct HelloRefusal {
    std::string code;
    std::string message;
    std::string log;
};

// The certificate's common name must be the name hello gives.
std::optional<HelloRefusal> check_hello_identity(const wire::Hello& hello, std::string_view common_name);

// A certificate that certs::check_leaf refused: "revoked" or "bad_certificate".
HelloRefusal leaf_check_refusal(const std::string& error);

// What the store said, read on the store thread in one job.
struct HelloLookup {
    std::optional<store::HostRecord> host;
    bool revoked = false;
    std::shared_ptr<const ClusterSnapshot> snapshot;
    // The zone's ids, read only for a host newer than `snapshot`.
    std::optional<std::vector<std::int64_t>> ids;
    std::int64_t generation = 0;
};

struct HelloAcceptance {
    wire::Welcome welcome;
    Assignment held;  // what the agent holds once it has applied `welcome`
};

struct HelloServer {
    std::string_view name;                // this server's name, sent in welcome
    std::int64_t heartbeat_interval = 0;  // seconds
    // Numbers a correction; called only when there is one.
    std::function<std::int64_t()> next_seq;
};

// After the identity check: `serial` is the certificate's, `lookup.snapshot`
// is never null.
std::variant<HelloRefusal, HelloAcceptance> decide_hello(const wire::Hello& hello,
                                                         std::string_view serial,
                                                         const HelloLookup& lookup,
                                                         const HelloServer& server);

}  // namespace agentlb::mgmt
