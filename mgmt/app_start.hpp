#pragma once

// Start-up of the platform's own messages on agentlb-mgmt (issue 19): the
// router exists when this server has an --app-socket or a --peer-listen (a
// server without a socket still carries messages for its hosts to and from
// applications elsewhere).

#include "common/lb/endpoint.hpp"
#include "mgmt/shared_state.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>

namespace agentlb::mgmt {

class PeerLinks;

struct AppStart {
    std::shared_ptr<PeerLinks> links;  // null without --peer-listen
    // What the other servers dial: the --advertise host at the bound
    // --peer-listen port; "" without one.
    std::string peer_address;
};

// Binds --peer-listen and opens --app-socket, setting state.apps; nothing
// when neither is given. Throws StartError naming the option at fault.
AppStart start_app_routing(SharedState& state,
                           const boost::asio::any_io_executor& executor,
                           const lb::Endpoint& advertise);

}  // namespace agentlb::mgmt
