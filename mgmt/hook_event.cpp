#include "mgmt/hook_event.hpp"

#include "common/util/rfc3339.hpp"

#include <nlohmann/json.hpp>

#include <utility>

namespace agentlb::mgmt {

HookEvent agent_hook_event(
    std::string_view event, std::string server, HookHost host, std::string reason, std::string detail) {
    HookEvent out;
    out.event = std::string(event);
    out.time = static_cast<std::int64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    out.server = std::move(server);
    out.host = std::move(host);
    out.reason = std::move(reason);
    out.detail = std::move(detail);
    return out;
}

HookEvent server_hook_event(std::string_view event,
                            std::string server,
                            std::string peer,
                            std::string state,
                            std::string reason,
                            std::string detail) {
    HookEvent out = agent_hook_event(event, std::move(server), {}, std::move(reason), std::move(detail));
    out.host.reset();
    out.peer = std::move(peer);
    out.state = std::move(state);
    return out;
}

std::optional<HookEvent> own_state_hook_event(const std::string& server,
                                              std::string& reported,
                                              std::string_view state) {
    if (state == reported || (state != "up" && state != "maintenance" && state != "down")) {
        return std::nullopt;
    }
    std::string_view event;
    std::string reason;
    if (state == "up") {
        event = kHookServerUp;
        reason = reported.empty() ? "started" : reported == "down" ? "rejoined" : "maintenance_ended";
    } else if (state == "maintenance") {
        event = kHookServerMaintenance;
        reason = "maintenance";
    } else {
        event = kHookServerDown;
        reason = "marked_down";
    }
    reported = std::string(state);
    return server_hook_event(event, server, server, std::string(state), std::move(reason));
}

std::string hook_event_json(const HookEvent& event) {
    nlohmann::ordered_json json;
    json["event"] = event.event;
    json["time"] = util::format_rfc3339(event.time);
    json["server"] = event.server;
    if (event.host) {
        json["host"] = {{"name", event.host->name}, {"id", event.host->id}, {"zone", event.host->zone}};
    }
    const std::pair<const char*, const std::string*> optional[] = {
        {"peer", &event.peer},
        {"state", &event.state},
        {"reason", &event.reason},
        {"detail", &event.detail},
        {"to", &event.to},
    };
    for (const auto& [key, value] : optional) {
        if (!value->empty()) {
            json[key] = *value;
        }
    }
    // A host name or a detail that is not UTF-8 must not make dump() throw.
    return json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

bool HookQueue::push(HookEvent event) {
    if (events_.size() >= limit_) {
        ++dropped_;
        return false;
    }
    events_.push_back(std::move(event));
    return true;
}

std::optional<HookEvent> HookQueue::pop() {
    if (events_.empty()) {
        return std::nullopt;
    }
    auto event = std::move(events_.front());
    events_.pop_front();
    return event;
}

std::size_t HookQueue::clear() {
    const auto n = events_.size();
    events_.clear();
    return n;
}

std::uint64_t DropReport::on_drop(Clock::time_point now) {
    ++pending_;
    if (last_ && now - *last_ < period_) {
        return 0;
    }
    last_ = now;
    return std::exchange(pending_, 0);
}

}  // namespace agentlb::mgmt
