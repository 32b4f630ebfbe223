#include "mgmt/agent_accept.hpp"

#include "mgmt/agent_session.hpp"
#include "mgmt/push_back_writer.hpp"
#include "mgmt/shared_state.hpp"

#include <spdlog/spdlog.h>

namespace agentlb::mgmt {

void accept_agent(const std::shared_ptr<SharedState>& state, boost::asio::ip::tcp::socket socket) {
    auto& admission = state->admission;
    const auto limit = admission.limit_for(state->snapshot()->handshake_max_inflight);
    auto slot = admission.try_admit(limit);
    if (slot.held()) {
        std::make_shared<AgentSession>(std::move(socket), state, std::move(slot))->start();
        return;
    }
    const auto retry_after = admission.retry_after(limit);
    // A storm pushes back thousands a second: one line a second says it.
    if (const auto count = admission.take_log_count(); count > 0) {
        spdlog::warn(
            "pushed back {} agent connection(s) since the last such line: {} handshakes in progress, the "
            "limit (agentlb.handshake.max.inflight) is {}; told to retry after {} ms",
            count,
            admission.inflight(),
            limit,
            retry_after.count());
    }
    push_back(std::move(socket), retry_after);
}

}  // namespace agentlb::mgmt
