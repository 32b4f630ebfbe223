#include "tools/agentlbctl/server_liveness.hpp"

#include "tools/agentlbctl/time_format.hpp"

namespace agentlb::ctl {

ServerLiveness judge_server(const store::ServerRecord& server, std::int64_t now) {
    if (server.state != store::kServerUp) {
        return {false, "marked " + server.state};
    }
    if (server.last_heartbeat == 0) {
        return {false, "never sent a heartbeat"};
    }
    const std::int64_t age = now - server.last_heartbeat;
    if (age > kServerStaleAfterSeconds) {
        return {false,
                "no heartbeat for " + format_age(age) + " (limit " +
                    std::to_string(kServerStaleAfterSeconds) + " s)"};
    }
    return {true, ""};
}

std::string effective_state(const store::ServerRecord& server, std::int64_t now) {
    return std::string(judge_server(server, now).up ? store::kServerUp : store::kServerDown);
}

}  // namespace agentlb::ctl
