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

// An algorithm's name as lists carry it: 1 to 64 letters, digits, '_' or
// '-'. Whether this build knows it is another question (find_algorithm).
bool is_algorithm_name(std::string_view name);

// agent.properties `host`: "a,b,c@algo", split at the last '@'. A value
// without '@' (a hand-written file, an installer's default) holds the hosts
// and no algorithm: as in CloudStack, the servers count that as a mismatch
// and send a list with one. A '@' followed by nothing, or by text that is
// not an algorithm's name, is refused. A name this build does not know is
// kept: agents carry lists from servers newer than themselves (a server
// that does not know it counts it as a mismatch and corrects it).
Result<AgentHostValue> parse_agent_host_value(std::string_view value);

// "a,b,c@algo"; "a,b,c" when there is no algorithm (reads back the same).
std::string format_agent_host_value(const AgentHostValue& value);

}  // namespace agentlb::lb
