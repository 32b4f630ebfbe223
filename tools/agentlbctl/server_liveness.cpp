#include "tools/agentlbctl/server_liveness.hpp"

#include "tools/agentlbctl/time_format.hpp"

namespace agentlb::ctl {

ServerLiveness judge_server(const store::ServerRecord& server, std::int64_t now) {
    const std::string down(store::kServerDown);
    if (server.state == store::kServerDown) {
        return {false, down, "marked down"};
    }
    if (server.last_heartbeat == 0) {
        return {false, down, "never sent a heartbeat"};
    }
    const std::int64_t age = now - server.last_heartbeat;
    if (age > kServerStaleAfterSeconds) {
        return {false,
                down,
                "no heartbeat for " + format_age(age) + " (limit " +
                    std::to_string(kServerStaleAfterSeconds) + " s)"};
    }
    return {true, server.state, ""};
}

std::string effective_state(const store::ServerRecord& server, std::int64_t now) {
    return judge_server(server, now).state;
}

}  // namespace agentlb::ctl
