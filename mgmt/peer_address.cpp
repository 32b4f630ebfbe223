#include "mgmt/peer_address.hpp"

namespace agentlb::mgmt {

std::string peer_address(const boost::asio::ip::tcp::socket& socket) {
    boost::system::error_code ec;
    const auto endpoint = socket.remote_endpoint(ec);
    if (ec) {
        return "unknown peer";
    }
    const auto port = std::to_string(endpoint.port());
    if (endpoint.address().is_v6()) {
        return "[" + endpoint.address().to_string() + "]:" + port;
    }
    return endpoint.address().to_string() + ":" + port;
}

}  // namespace agentlb::mgmt
