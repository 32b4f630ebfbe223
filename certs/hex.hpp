#pragma once

#include <cstddef>
#include <string>

namespace agentlb::certs {

// Lowercase hex of a byte buffer.
std::string to_hex(const unsigned char* data, std::size_t size);

}  // namespace agentlb::certs
