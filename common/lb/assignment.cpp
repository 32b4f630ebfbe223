#include "common/lb/assignment.hpp"

#include "common/lb/host_list.hpp"

namespace agentlb::lb {

bool needs_update(const Assignment& held, const Assignment& next, const Algorithm& algorithm) {
    if (next.list.empty()) {
        return false;
    }
    return held.algorithm != next.algorithm || held.interval != next.interval || held.avoid != next.avoid ||
           !algorithm.agree(held.list, next.list);
}

Assignment assignment_to_send(const Assignment& held, const Assignment& next, const Algorithm& algorithm) {
    Assignment out = next;
    if (held.algorithm == next.algorithm && algorithm.agree(held.list, next.list)) {
        out.list = held.list;
    }
    return out;
}

Assignment held_from_hello(std::string_view list_value, std::int64_t interval) {
    Assignment held;
    held.interval = interval;
    if (list_value.empty()) {
        return held;
    }
    auto parsed = parse_agent_host_value(list_value);
    if (parsed) {
        held.list = std::move(parsed->hosts);
        held.algorithm = std::move(parsed->algorithm);
    }
    return held;
}

}  // namespace agentlb::lb
