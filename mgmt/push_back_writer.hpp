#pragma once

// Answers a connection the agent port does not admit now (admission.hpp):
// writes the push-back line at once, before reading anything, then shuts its
// side down and reads and discards until the agent closes or 2 s passed,
// then closes. Closing with the agent's ClientHello unread would send a TCP
// reset, which can destroy the line before the agent reads it.

#include <boost/asio/ip/tcp.hpp>

#include <chrono>

namespace agentlb::mgmt {

inline constexpr std::chrono::seconds kPushBackDrain{2};

// Runs on the socket's executor; the socket is owned until closed.
void push_back(boost::asio::ip::tcp::socket socket, std::chrono::milliseconds retry_after);

}  // namespace agentlb::mgmt
