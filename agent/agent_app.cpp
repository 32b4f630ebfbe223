// The agent's side of --app-socket (issue 19): what the sessions bring for
// the local client, handed to the AppLink.

#include "agent/agent.hpp"

namespace agentlb::agent {

void Agent::on_app(const std::shared_ptr<ServerSession>& /*session*/, const wire::App& app) {
    // From the retiring session of a switch too: the client drops repeats.
    if (app_link_) {
        app_link_->on_app(app);
    }
}

void Agent::on_app_room(const std::shared_ptr<ServerSession>& session) {
    if (app_link_ && session == current_) {
        app_link_->on_room();
    }
}

}  // namespace agentlb::agent
