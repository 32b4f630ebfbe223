#pragma once

// One management server address as written in the `host` list.

#include "common/util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace agentlb::lb {

constexpr std::uint16_t kDefaultAgentPort = 8250;

struct Endpoint {
    std::string host;  // name, IPv4 or IPv6 address as written; IPv6 without brackets
    std::uint16_t port;
};

// Accepts "name-or-ipv4[:port]", "[ipv6][:port]" and a bare IPv6 literal
// (two or more colons, so it cannot carry a port). The port is 1..65535,
// decimal digits only, kDefaultAgentPort when omitted. No whitespace is
// trimmed here: the list parser does that.
Result<Endpoint> parse_endpoint(std::string_view entry);

// "host:port", "[v6]:port": always with the port.
std::string to_string(const Endpoint& endpoint);

// The same server written differently ("A" and "a:8250", "[::1]" and
// "[0::1]:8250") gives the same key: the host in lower case, IPv6 in its
// canonical form, always with the port.
std::string identity_key(const Endpoint& endpoint);

// Two `host` entries name the same server: equal identity keys. False when
// either does not parse.
bool same_endpoint(std::string_view a, std::string_view b);

}  // namespace agentlb::lb
