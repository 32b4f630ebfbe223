#pragma once

// How a connection's peer is named in log lines: "1.2.3.4:port" or
// "[v6]:port" (the form an operator pastes into `host`).

#include <boost/asio/ip/tcp.hpp>

#include <string>

namespace agentlb::mgmt {

// "unknown peer" once the socket has no remote end (already reset).
std::string peer_address(const boost::asio::ip::tcp::socket& socket);

}  // namespace agentlb::mgmt
