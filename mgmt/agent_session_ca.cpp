// AgentSession: CA rotation. `trust` tells the agent which CAs the cluster
// trusts (it adopts only what a CA it trusts vouches for); `reissue` asks it
// to renew now (agentlbctl ca rotate --reissue-all).

#include "mgmt/agent_session.hpp"
#include "mgmt/shared_state.hpp"

#include <boost/asio/post.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace agentlb::mgmt {

namespace asio = boost::asio;

void AgentSession::offer_trust(std::shared_ptr<const CaView> cas) {
    asio::post(stream_.get_executor(), [self = shared_from_this(), cas = std::move(cas)] {
        if (!self->machine_.welcomed() || self->ending_ != Ending::no || self->machine_.trusts().empty()) {
            return;  // an older agent would close on a message type it does not know
        }
        if (!self->trust_known_) {
            self->known_trust_ = self->machine_.trusts();
            std::sort(self->known_trust_.begin(), self->known_trust_.end());
            self->trust_known_ = true;
        }
        if (self->known_trust_ == cas->trust_fingerprints) {
            return;
        }
        spdlog::debug("{}: sending the {} CAs the cluster trusts", self->who(), cas->trust_cas.size());
        self->send(wire::Trust{cas->trust_cas});
        self->known_trust_ = cas->trust_fingerprints;
    });
}

void AgentSession::reissue() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
        if (!self->machine_.welcomed() || self->ending_ != Ending::no || self->machine_.trusts().empty()) {
            return;
        }
        spdlog::debug("{}: asking for a renewal (CA rotation)", self->who());
        self->send(wire::Reissue{});
    });
}

bool AgentSession::certificate_from(const std::string& ca_key_id) const {
    std::lock_guard lock(status_mutex_);
    return !ca_key_id.empty() && issuer_key_id_ == ca_key_id;
}

}  // namespace agentlb::mgmt
