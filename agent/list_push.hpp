#pragma once

// Applying a list the servers pushed (`ms_list`, or the correction in
// `welcome`): persist first, then adopt and acknowledge. A push that cannot
// be stored is neither adopted nor acknowledged, so the server keeps
// treating the agent as holding its previous list.

#include "agent/agent_state.hpp"
#include "common/util/result.hpp"
#include "common/wire/messages.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace agentlb::agent {

struct ListPush {
    std::int64_t seq = 0;
    ListUpdate update;
    std::vector<std::string> avoid;  // kept in memory only
};

ListPush to_list_push(const wire::MsList& message);

// Where a push goes. The agent's implementation persists on its file worker
// and hands adopt/ack to the I/O thread, in this order.
class PushTarget {
public:
    virtual ~PushTarget() = default;
    // Writes the properties file (atomically); blocks.
    virtual Status persist(const ListUpdate& update) = 0;
    // The new list (and avoid list) is the one to use from now on.
    virtual void adopt(const ListPush& push) = 0;
    // The list is stored and adopted: the session's machine acknowledges it
    // (AgentMachine::on_persisted).
    virtual void ack(std::int64_t seq) = 0;
};

// Validates, persists, then adopts and acks. `held` is what the file holds
// now: an identical list skips the write (only the avoid list can differ)
// but is still acknowledged. Returns why nothing was adopted, for the log.
Status apply_push(const ListPush& push, const AgentSettings& held, PushTarget& target);

}  // namespace agentlb::agent
