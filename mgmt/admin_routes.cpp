#include "mgmt/admin_routes.hpp"

#include "common/store/store_location.hpp"
#include "common/util/rfc3339.hpp"
#include "mgmt/agent_session.hpp"
#include "mgmt/drain_rule.hpp"
#include "mgmt/process_metrics.hpp"
#include "mgmt/shared_state.hpp"
#include "mgmt/status_api.hpp"
#include "mgmt/status_page.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <unistd.h>

namespace agentlb::mgmt {

namespace {

std::string time_text(std::int64_t unix_seconds) {
    return unix_seconds > 0 ? util::format_rfc3339(unix_seconds) : std::string();
}

nlohmann::json server_json(const store::ServerRecord& server) {
    return {
        {"name", server.name},
        {"address", server.address},
        {"state", server.state},
        {"maintenance", server.maintenance},
        {"last_heartbeat", time_text(server.last_heartbeat)},
        {"agents", server.agents},
        {"started_at", time_text(server.started_at)},
    };
}

// The store as a person may see it: never the password a --db may carry.
nlohmann::json store_json(const SharedState& state) {
    const bool postgresql = store::backend_of(state.options.db) == store::Backend::postgresql;
    const int feed = state.metrics.change_feed_state.load();
    return {
        {"location", store::shown_location(state.options.db)},
        {"backend", postgresql ? "postgresql" : "sqlite"},
        {"changes", feed < 0 ? "polled" : (feed > 0 ? "notified" : "reconnecting")},
    };
}

// This server's certificate, the CA's expiry, and what expires within
// ca.framework.cert.expiry.alert.period.
nlohmann::json certificate_json(const SharedState& state) {
    const auto tls = state.tls.current();
    return {
        {"serial", tls ? tls->serial : std::string()},
        {"not_after", time_text(tls ? tls->not_after : 0)},
        {"ca_not_after", time_text(state.metrics.ca_not_after.load())},
        {"warnings", state.certificate_warnings.get()},
    };
}

}  // namespace

std::int64_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::int64_t size = 0;
    std::int64_t resident = 0;
    if (!(statm >> size >> resident)) {
        return 0;
    }
    return resident * static_cast<std::int64_t>(::sysconf(_SC_PAGESIZE));
}

// This server's state as its row in the store says (up, preparing,
// maintenance), "stopping" once it shuts down.
std::string own_state(SharedState& state) {
    if (state.stopping.load()) {
        return "stopping";
    }
    for (const auto& server : state.snapshot()->servers) {
        if (server.name == state.options.name) {
            return server.state;
        }
    }
    return std::string(store::kServerUp);
}

std::string status_json(SharedState& state) {
    nlohmann::json status;
    const auto drain = static_cast<DrainRule::Why>(state.drain_why.load());
    status["server"] = {
        {"name", state.options.name},
        {"address", state.advertise},
        {"state", own_state(state)},
        // Why hellos are refused `draining` ("maintenance", "shutdown"), null while it takes agents.
        {"drain", drain == DrainRule::Why::none ? nlohmann::json(nullptr) : nlohmann::json(why_text(drain))},
        {"started_at", time_text(state.started_at)},
        // The store generation this server's lists are computed from.
        {"generation", state.snapshot()->generation},
        // False past agentlb.store.unreachable.limit: agents are moved away.
        {"serving", state.serving.load()},
    };
    status["server"]["certificate"] = certificate_json(state);
    status["store"] = store_json(state);
    // Why /healthz says 503 (null while the store answers).
    const auto store_problem = state.store_health.problem();
    status["server"]["store_problem"] =
        store_problem ? nlohmann::json(*store_problem) : nlohmann::json(nullptr);

    std::vector<AgentStatus> agents;
    for (const auto& session : state.registry.sessions()) {
        auto s = session->status();
        if (s.welcomed) {
            agents.push_back(std::move(s));
        }
    }
    std::sort(agents.begin(), agents.end(), [](const AgentStatus& a, const AgentStatus& b) {
        return a.host_id != b.host_id ? a.host_id < b.host_id : a.connected_since < b.connected_since;
    });
    auto agent_list = nlohmann::json::array();
    for (const auto& a : agents) {
        agent_list.push_back({
            {"id", a.host_id},
            {"name", a.name},
            {"zone", a.zone},
            {"address", a.address},
            {"list", a.held.list},
            {"algorithm", a.held.algorithm},
            {"interval", a.held.interval},
            {"avoid", a.held.avoid},
            {"connected_since", time_text(a.connected_since)},
        });
    }
    status["agents"] = std::move(agent_list);

    auto servers = state.servers();
    if (servers.empty()) {
        servers = state.snapshot()->servers;
    }
    auto server_list = nlohmann::json::array();
    for (const auto& server : servers) {
        server_list.push_back(server_json(server));
    }
    status["servers"] = std::move(server_list);
    status["rss_bytes"] = resident_bytes();
    // Peer text (host names) may hold invalid UTF-8: replace, never throw.
    return status.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

HttpReply admin_route(SharedState& state, std::string_view target) {
    if (target == "/healthz") {
        if (auto problem = state.store_health.problem()) {
            return {503, "text/plain; charset=utf-8", "unhealthy: " + *problem + "\n"};
        }
        // Still healthy (it serves), but an operator must act before the date.
        std::string body = "ok\n";
        for (const auto& warning : state.certificate_warnings.get()) {
            body += "warning: " + warning + "\n";
        }
        return {200, "text/plain; charset=utf-8", body};
    }
    if (target == "/metrics") {
        // The zone series come from the cluster view, not this server's counters.
        std::string body = render_build_info();
        if (const auto process = sample_this_process()) {
            body += render_process_series(*process);
        }
        body += state.metrics.render();
        body += state.store.timings().render();
        body += state.zone_metrics.render();
        return {200, "text/plain; version=0.0.4; charset=utf-8", std::move(body)};
    }
    if (target == "/v1/status") {
        return {200, "application/json", status_json(state)};
    }
    if (target == "/" || target == "/index.html") {
        return {200, "text/html; charset=utf-8", std::string(status_page_html())};
    }
    if (target == "/v1/history") {
        return {200,
                "application/json",
                history_json(state.history.samples(),
                             state.options.history_sample_period.count(),
                             state.history.capacity())};
    }
    if (target == "/v1/events") {
        return {200,
                "application/json",
                events_json(state.events.recent(), state.events.capacity(), state.events.total())};
    }
    if (target == "/v1/config") {
        return {200, "application/json", config_json(state)};
    }
    return {404,
            "text/plain; charset=utf-8",
            "not found; try / (the status page), /healthz, /metrics, /v1/status, /v1/history, /v1/events or "
            "/v1/config\n"};
}

}  // namespace agentlb::mgmt
