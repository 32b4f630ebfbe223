// An agent session's part in carrying the platform's own messages (issue
// 19): what the host sends goes to the AppRouter, what the router sends goes
// to the host. Nothing is held here: the router hands a frame only while
// app_room() says there is room (and holds the application's next frames
// meanwhile: push-back); one that finds the queue full anyway is dropped,
// and its sender's stream sends it again.

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
    app_posted_.fetch_add(1);
    bool first = false;
    {
        std::lock_guard lock(app_inbox_mutex_);
        first = app_inbox_.empty();
        app_inbox_.push_back(std::move(app));
    }
    if (first) {
        boost::asio::post(stream_.get_executor(), [self = shared_from_this()] { self->take_app_inbox(); });
    }
}

void AgentSession::take_app_inbox() {
    std::vector<wire::App> apps;
    {
        std::lock_guard lock(app_inbox_mutex_);
        apps.swap(app_inbox_);
    }
    app_posted_.fetch_sub(static_cast<std::uint32_t>(apps.size()));
    ++flush_deferred_;
    for (auto& app : apps) {
        if (outbox_.size() >= kAppQueueRoom) {
            state_->metrics.app_messages_dropped.fetch_add(1);
            continue;
        }
        feed([&app](protocol::ServerMachine& m) { return m.send_app(std::move(app)); });
    }
    if (--flush_deferred_ == 0 && flush_due_) {
        flush();
    }
    note_outbox_depth();
}

bool AgentSession::app_room() const {
    return outbox_depth_.load() + app_posted_.load() < kAppRoom;
}

bool AgentSession::want_app_room() {
    app_room_wanted_.store(true);
    // Drained since the caller looked: no flush may come to say so.
    if (app_room()) {
        app_room_wanted_.store(false);
        return true;
    }
    return false;
}

void AgentSession::note_outbox_depth() {
    outbox_depth_.store(static_cast<std::uint32_t>(outbox_.size()));
    if (app_room_wanted_.load() && outbox_depth_.load() + app_posted_.load() <= kAppRoom / 2 &&
        app_room_wanted_.exchange(false) && state_->apps) {
        state_->apps->on_room();
    }
}

void AgentSession::route_apps(std::vector<wire::App> apps) {
    if (state_->apps) {
        state_->apps->from_host(machine_.name(), std::move(apps));
    }
}

void AgentSession::attach_app() {
    if (state_->apps && machine_.takes_app()) {
        state_->apps->attach(machine_.name(), shared_from_this());
    }
}

}  // namespace agentlb::mgmt
