// Agent: lists pushed by the server (persisted by the file worker, then
// adopted and acknowledged) and migrate requests.

#include "agent/agent.hpp"
#include "agent/agent_internal.hpp"
#include "common/lb/host_list.hpp"
#include "common/util/bounded_join.hpp"
#include "common/util/text.hpp"

#include <boost/asio/post.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>

namespace agentlb::agent {

namespace asio = boost::asio;

namespace {

// Hands a pushed list from the worker (persist) to the I/O thread (adopt,
// then the session's machine acknowledges it).
class WorkerPushTarget : public PushTarget {
public:
    WorkerPushTarget(AgentStateFile& state,
                     asio::any_io_executor io,
                     std::function<void(const ListPush&)> adopt,
                     std::shared_ptr<ServerSession> session)
        : state_(state), io_(std::move(io)), adopt_(std::move(adopt)), session_(std::move(session)) {}

    Status persist(const ListUpdate& update) override { return state_.save_list(update); }
    void adopt(const ListPush& push) override {
        asio::post(io_, [adopt = adopt_, push] { adopt(push); });
    }
    void ack(std::int64_t seq) override {
        asio::post(io_, [session = session_, seq] { session->on_persisted(seq, true); });
    }

private:
    AgentStateFile& state_;
    asio::any_io_executor io_;
    std::function<void(const ListPush&)> adopt_;
    std::shared_ptr<ServerSession> session_;
};

}  // namespace

void Agent::on_list(const std::shared_ptr<ServerSession>& session, const wire::MsList& list) {
    // Absent: a server that does not send it; keep what the welcome said.
    if (list.renewal && session == current_) {
        set_renewal_policy(list.renewal);
    }
    ListPush push = to_list_push(list);
    auto io = io_.get_executor();
    worker_.post(io, [this, push, session, io] {
        WorkerPushTarget target(
            *state_, io, [this](const ListPush& p) { adopt_list(p); }, session);
        const AgentSettings held = state_->settings();
        if (auto applied = apply_push(push, held, target); !applied) {
            asio::post(io, [reason = applied.error(), session, seq = push.seq] {
                spdlog::error(
                    "list from {} not applied, keeping the previous one: {}", session->entry(), reason);
                session->on_persisted(seq, false);
            });
        }
    });
}

void Agent::adopt_list(const ListPush& push) {
    const bool changed =
        settings_.hosts != push.update.value.hosts || settings_.algorithm != push.update.value.algorithm ||
        settings_.check_interval != push.update.check_interval || policy_.avoid() != push.avoid;
    settings_.hosts = push.update.value.hosts;
    settings_.algorithm = push.update.value.algorithm;
    settings_.check_interval = push.update.check_interval;
    policy_from_settings();
    policy_.set_avoid(push.avoid);
    if (changed) {
        spdlog::info("list {} (seq {}, check interval {} s{}{})",
                     detail::describe_list(settings_.hosts, settings_.algorithm),
                     push.seq,
                     settings_.check_interval,
                     policy_.preferred_check_on() ? "" : ", preferred check off under shuffle",
                     push.avoid.empty() ? "" : ", avoid " + util::join_bounded(push.avoid));
    }
    after_list_change();
}

void Agent::after_list_change() {
    preferred_timer_.cancel();
    metrics_changed();
    if (current_ && !policy_.contains(current_->entry())) {
        spdlog::info("{} is no longer in the list: moving", current_->entry());
        relocate_ = true;
        relocate_to_.clear();
    }
    wake_connection_loop();
}

void Agent::on_migrate(const std::shared_ptr<ServerSession>& session,
                       const protocol::AgentMachine::Migrate& migrate) {
    if (session != current_) {
        return;
    }
    spdlog::info("{} asks us to move: {}", session->entry(), migrate.reason);
    policy_.set_avoid(migrate.avoid);
    relocate_ = true;
    relocate_to_ = migrate.to;
    wake_connection_loop();
}

}  // namespace agentlb::agent
