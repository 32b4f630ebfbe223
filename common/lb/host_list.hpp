#pragma once

// The `host` configuration value and the agent's persisted "hosts@algorithm".

#include "common/util/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace agentlb::lb {

// Comma-separated endpoints; spaces around entries are trimmed (as
// CloudStack does) and the trimmed texts are returned as written. Refuses an
// empty value, an empty entry, a malformed entry, a bad port and two entries
// naming the same server ("a" and "a:8250"). Messages do not name the key:
// callers add it.
Result<std::vector<std::string>> parse_host_list(std::string_view value);

// "a,b,c"
std::string join_host_list(const std::vector<std::string>& entries);

struct AgentHostValue {
    std::vector<std::string> hosts;
    std::string algorithm;  // empty: the value named none
};

// agent.properties `host`: "a,b,c@algo", split at the last '@'. A value
// without '@' (a hand-written file, an installer's default) holds the hosts
// and no algorithm: as in CloudStack, the servers count that as a mismatch
// and send a list with one. A '@' followed by nothing is refused.
Result<AgentHostValue> parse_agent_host_value(std::string_view value);

// "a,b,c@algo"; "a,b,c" when there is no algorithm (reads back the same).
std::string format_agent_host_value(const AgentHostValue& value);

}  // namespace agentlb::lb
