#pragma once

// A free TCP port on loopback: binds 127.0.0.1:0, reads the port back and
// closes the socket. Another process could take it before the caller binds
// it; the kernel's ephemeral allocation makes that rare enough for tests.

#include <cstdint>
#include <string>

namespace agentlb::test {

std::uint16_t free_port();

// "127.0.0.1:PORT"
std::string loopback(std::uint16_t port);

}  // namespace agentlb::test
