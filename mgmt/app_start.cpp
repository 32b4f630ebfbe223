#include "mgmt/app_start.hpp"

#include "mgmt/app_router.hpp"
#include "mgmt/peer_links.hpp"
#include "mgmt/process_setup.hpp"

#include <boost/system/system_error.hpp>

namespace agentlb::mgmt {

AppStart start_app_routing(SharedState& state,
                           const boost::asio::any_io_executor& executor,
                           const lb::Endpoint& advertise) {
    const Options& options = state.options;
    AppStart started;
    if (options.app_socket.empty() && !options.peer_listen) {
        return started;
    }
    state.apps = std::make_shared<AppRouter>(executor, state);
    if (options.peer_listen) {
        started.links = std::make_shared<PeerLinks>(executor, state.tls, state.metrics);
        try {
            started.links->listen(*options.peer_listen);
        } catch (const boost::system::system_error& e) {
            throw StartError("--peer-listen " + options.peer_listen->address().to_string() + ":" +
                             std::to_string(options.peer_listen->port()) + ": " + e.code().message());
        }
        const auto bound = started.links->local_endpoint();
        started.peer_address =
            lb::to_string(lb::Endpoint{advertise.host, bound ? bound->port() : std::uint16_t{0}});
        state.apps->use_peer_links(started.links);
    }
    if (!options.app_socket.empty()) {
        if (auto opened = state.apps->open(options.app_socket, options.app_socket_group); !opened) {
            throw StartError("--" + opened.error());
        }
    }
    return started;
}

}  // namespace agentlb::mgmt
