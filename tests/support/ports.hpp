#pragma once

// A free TCP port on loopback for a server a test starts.
//
// The port is picked below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range): every outgoing connection of every test
// running in parallel takes its local port from that range, so a listening
// port picked there can be taken by an agent's connect between the pick and
// the server's bind, or between a SIGKILL and the restart that binds it
// again (seen in CI). Below it only another test's pick can collide: a
// random choice among some twenty thousand ports, checked bindable, makes
// that rare. Falls back to the kernel's choice when no such range exists.

#include <cstdint>
#include <string>

namespace agentlb::test {

std::uint16_t free_port();

// "127.0.0.1:PORT"
std::string loopback(std::uint16_t port);

}  // namespace agentlb::test
