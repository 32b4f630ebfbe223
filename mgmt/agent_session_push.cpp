// Pushing a changed list to an agent, and the acks that answer it.

#include "common/util/bounded_join.hpp"
#include "mgmt/agent_session.hpp"
#include "mgmt/shared_state.hpp"

#include <boost/asio/execution/context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/query.hpp>

#include <spdlog/spdlog.h>

namespace agentlb::mgmt {

namespace asio = boost::asio;

void AgentSession::apply_now(const std::shared_ptr<const ClusterSnapshot>& snapshot) {
    if (stopped_ || close_after_flush_ || !registered_ || !welcome_sent_ ||
        snapshot->generation < hello_generation_) {
        return;
    }
    if (!contains_host(*snapshot, zone_, host_id_)) {
        spdlog::info("{}: host removed, closing its session", who());
        refuse("revoked", "host " + name_ + " was removed");
        return;
    }
    if (state_->revoked->is_revoked(serial_)) {
        spdlog::info("{}: certificate serial {} revoked, closing its session", who(), serial_);
        refuse("revoked", "certificate serial " + serial_ + " is revoked");
        return;
    }
    const auto next = compute_assignment(*snapshot, zone_, host_id_);
    if (!needs_update(held_, next, *snapshot->algorithm)) {
        return;
    }
    const auto update = assignment_to_send(held_, next, *snapshot->algorithm);
    const auto seq = state_->next_seq();
    if (pending_acks_.size() >= kMaxPendingAcks) {
        give_up_pushes(
            pending_acks_.begin()->first + 1, Clock::time_point::min(), "too many unacknowledged lists");
    }
    pending_acks_.emplace(seq, Clock::now());
    tighten_watchdog();
    state_->metrics.pushes_sent.fetch_add(1);
    state_->metrics.pushes_unacked.fetch_add(1);
    set_held(update);
    spdlog::debug("{}: push seq {}: {}@{} interval {} avoid [{}]",
                  who(),
                  seq,
                  util::join_bounded(update.list),
                  update.algorithm,
                  update.interval,
                  util::join_bounded(update.avoid));
    send(wire::MsList{seq, update.list, update.algorithm, update.interval, update.avoid});
}

void AgentSession::apply_to_all(std::vector<std::shared_ptr<AgentSession>> sessions,
                                const std::shared_ptr<const ClusterSnapshot>& snapshot) {
    // Sessions never change thread: one batch per io_context.
    std::map<asio::execution_context*, std::vector<std::shared_ptr<AgentSession>>> batches;
    for (auto& session : sessions) {
        auto* context = &asio::query(session->stream_.get_executor(), asio::execution::context);
        batches[context].push_back(std::move(session));
    }
    for (auto& [context, batch] : batches) {
        auto executor = batch.front()->stream_.get_executor();
        asio::post(executor, [batch = std::move(batch), snapshot] {
            for (const auto& session : batch) {
                session->apply_now(snapshot);
            }
        });
    }
}

void AgentSession::on_ack(std::int64_t seq) {
    // Not found: welcome's correction (not counted), or a push given up already.
    if (auto it = pending_acks_.find(seq); it != pending_acks_.end()) {
        const std::chrono::duration<double> latency = Clock::now() - it->second;
        state_->metrics.push_latency.observe(latency.count());
        state_->metrics.pushes_acked.fetch_add(1);
        state_->metrics.pushes_unacked.fetch_sub(1);
        pending_acks_.erase(it);
    }
    // The agent stores lists in the order they came and acks each one it
    // stored: an earlier push still waiting was not stored, and never will be.
    give_up_pushes(seq, Clock::time_point::min(), "a later list was acknowledged");
}

void AgentSession::give_up_pushes(std::int64_t below_seq,
                                  Clock::time_point sent_before,
                                  std::string_view why) {
    for (auto it = pending_acks_.begin(); it != pending_acks_.end();) {
        if (it->first >= below_seq && it->second > sent_before) {
            ++it;
            continue;
        }
        spdlog::warn("{}: list seq {} was never acknowledged ({}): the agent may not have stored it",
                     who(),
                     it->first,
                     why);
        state_->metrics.pushes_unanswered.fetch_add(1);
        state_->metrics.pushes_unacked.fetch_sub(1);
        it = pending_acks_.erase(it);
    }
}

void AgentSession::set_held(const Assignment& held) {
    std::lock_guard lock(status_mutex_);
    held_ = held;
}

}  // namespace agentlb::mgmt
