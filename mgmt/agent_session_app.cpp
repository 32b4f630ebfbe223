// An agent session's part in carrying the platform's own messages (issue
// 19): what the host sends goes to the AppRouter, what the router sends goes
// to the host. Nothing is held here: a message the session cannot take now
// is dropped, and its sender's stream sends it again.

#include "mgmt/agent_session.hpp"
#include "mgmt/app_router.hpp"
#include "mgmt/shared_state.hpp"

#include <boost/asio/post.hpp>

namespace agentlb::mgmt {

namespace {

// App messages stop being queued well before the machine's limit, which
// would close the session (an agent that does not read).
constexpr std::size_t kAppQueueRoom = protocol::ServerMachine::kMaxQueuedFrames / 2;

}  // namespace

void AgentSession::send_app(wire::App app) {
    boost::asio::post(stream_.get_executor(), [self = shared_from_this(), app = std::move(app)]() mutable {
        if (self->outbox_.size() >= kAppQueueRoom) {
            self->state_->metrics.app_messages_dropped.fetch_add(1);
            return;
        }
        self->feed([&app](protocol::ServerMachine& m) { return m.send_app(std::move(app)); });
    });
}

void AgentSession::route_app(wire::App app) {
    if (state_->apps) {
        state_->apps->from_host(shared_from_this(), machine_.name(), std::move(app));
    }
}

void AgentSession::attach_app() {
    if (state_->apps && machine_.takes_app()) {
        state_->apps->attach(machine_.name(), shared_from_this());
    }
}

}  // namespace agentlb::mgmt
