#include "mgmt/hello_decision.hpp"

#include "common/util/text.hpp"

namespace agentlb::mgmt {

std::optional<HelloRefusal> check_hello_identity(const wire::Hello& hello, std::string_view common_name) {
    if (hello.name == common_name) {
        return std::nullopt;
    }
    return HelloRefusal{"identity_mismatch",
                        "hello names a host other than the certificate's",
                        "certificate is for '" + util::peer_text(common_name) + "', hello names '" +
                            util::peer_text(hello.name) + "'"};
}

HelloRefusal leaf_check_refusal(const std::string& error) {
    std::string reason = error.find("revoked") != std::string::npos ? "revoked" : "bad_certificate";
    return HelloRefusal{reason, error, error};
}

std::variant<HelloRefusal, HelloAcceptance> decide_hello(const wire::Hello& hello,
                                                         std::string_view serial,
                                                         const HelloLookup& lookup,
                                                         const HelloServer& server) {
    if (!lookup.host) {
        return HelloRefusal{"unknown_host",
                            "host " + hello.name + " is not registered",
                            "no host of that name is registered"};
    }
    if (lookup.revoked) {
        const std::string text = "certificate serial " + std::string(serial) + " is revoked";
        return HelloRefusal{"revoked", text, text};
    }
    const auto& host = *lookup.host;
    const auto& snapshot = *lookup.snapshot;
    const auto computed = lookup.ids ? compute_assignment(snapshot, *lookup.ids, host.id)
                                     : compute_assignment(snapshot, host.zone, host.id);
    const auto reported = held_from_hello(hello.list, hello.interval);

    HelloAcceptance out;
    out.welcome.host_id = host.id;
    out.welcome.server = std::string(server.name);
    out.welcome.heartbeat_interval = server.heartbeat_interval;
    if (needs_update(reported, computed, *snapshot.algorithm)) {
        const auto correction = assignment_to_send(reported, computed, *snapshot.algorithm);
        out.welcome.correction = wire::MsList{
            server.next_seq(), correction.list, correction.algorithm, correction.interval, correction.avoid};
        out.held = correction;
    } else {
        out.held = reported;
    }
    return out;
}

}  // namespace agentlb::mgmt
