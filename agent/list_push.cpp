#include "agent/list_push.hpp"

namespace agentlb::agent {

ListPush to_list_push(const wire::MsList& message) {
    return ListPush{
        message.seq, ListUpdate{{message.list, message.algorithm}, message.interval}, message.avoid};
}

Status apply_push(const ListPush& push, const AgentSettings& held, PushTarget& target) {
    if (auto valid = validate_list_update(push.update); !valid) {
        return fail("refused list (seq " + std::to_string(push.seq) + "): " + valid.error());
    }
    const bool unchanged = held.hosts == push.update.value.hosts &&
                           held.algorithm == push.update.value.algorithm &&
                           held.check_interval == push.update.check_interval;
    if (!unchanged) {
        if (auto saved = target.persist(push.update); !saved) {
            return fail("cannot store list (seq " + std::to_string(push.seq) + "): " + saved.error());
        }
    }
    target.adopt(push);
    target.ack(push.seq);
    return success();
}

}  // namespace agentlb::agent
