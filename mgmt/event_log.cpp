#include "mgmt/event_log.hpp"

namespace agentlb::mgmt {

std::optional<StatusEvent> status_event_of(const HookEvent& event) {
    if (event.event == kHookAgentConnected) {
        return std::nullopt;
    }
    // "stopped": this server closed it at shutdown, already reported as server.down.
    if (event.event == kHookAgentDisconnected && event.reason == "stopped") {
        return std::nullopt;
    }
    // A peer's changes are recorded as the history sampler sees them
    // (whichever server marked it down): not twice when this one did.
    if (event.event == kHookServerDown && event.peer != event.server) {
        return std::nullopt;
    }
    StatusEvent out;
    out.time = event.time;
    out.kind = event.event;
    out.host = event.host ? event.host->name : std::string();
    out.peer = event.host ? event.to : event.peer;
    out.reason = event.reason;
    out.detail = event.detail;
    if (!event.state.empty() && out.detail.empty()) {
        out.detail = "now " + event.state;
    }
    return out;
}

StatusEvent refusal_event(std::int64_t time, std::string who, std::string reason, std::string detail) {
    StatusEvent out;
    out.time = time;
    out.kind = std::string(kEventAgentRefused);
    out.host = std::move(who);
    out.reason = std::move(reason);
    out.detail = std::move(detail);
    return out;
}

StatusEvent failover_event(std::int64_t time, std::string host, std::string from) {
    StatusEvent event;
    event.time = time;
    event.kind = std::string(kEventAgentFailover);
    event.detail = "arrived here from " + from + ", which is down";
    event.host = std::move(host);
    event.peer = std::move(from);
    event.reason = "server_down";
    return event;
}

void EventLog::add(StatusEvent event) {
    if (capacity_ == 0) {
        return;
    }
    std::lock_guard lock(mutex_);
    event.id = next_id_++;
    if (events_.size() == capacity_) {
        events_.pop_front();
    }
    events_.push_back(std::move(event));
}

std::vector<StatusEvent> EventLog::recent() const {
    std::lock_guard lock(mutex_);
    return {events_.begin(), events_.end()};
}

std::uint64_t EventLog::total() const {
    std::lock_guard lock(mutex_);
    return next_id_ - 1;
}

}  // namespace agentlb::mgmt
