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

}  // namespace agentlb::lb
