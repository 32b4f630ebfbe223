#pragma once

// What the agent port does with an accepted connection: admits it to a
// handshake (an AgentSession holding an admission slot), or pushes it back
// when agentlb.handshake.max.inflight handshakes are in progress
// (admission.hpp, push_back_writer.hpp).

#include <boost/asio/ip/tcp.hpp>

#include <memory>

namespace agentlb::mgmt {

class SharedState;

void accept_agent(const std::shared_ptr<SharedState>& state, boost::asio::ip::tcp::socket socket);

}  // namespace agentlb::mgmt
