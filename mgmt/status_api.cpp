#include "mgmt/status_api.hpp"

#include "common/lb/scoped_config.hpp"
#include "common/store/store_location.hpp"
#include "common/util/rfc3339.hpp"
#include "mgmt/shared_state.hpp"

#include <nlohmann/json.hpp>

#include <set>
#include <sstream>

namespace agentlb::mgmt {

namespace {

// Peer text (host names, details) may hold invalid UTF-8: replace, never throw.
std::string dump(const nlohmann::json& json) {
    return json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string endpoint_text(const boost::asio::ip::tcp::endpoint& endpoint) {
    std::ostringstream out;
    out << endpoint;
    return out.str();
}

}  // namespace

std::string history_json(const std::vector<HistorySample>& samples,
                         std::int64_t period_ms,
                         std::size_t capacity) {
    std::set<std::string> names;
    auto list = nlohmann::json::array();
    for (const auto& sample : samples) {
        auto servers = nlohmann::json::object();
        for (const auto& [name, server] : sample.servers) {
            names.insert(name);
            servers[name] = {{"agents", server.agents}, {"state", server.state}};
        }
        list.push_back({{"time_ms", sample.time_ms}, {"servers", std::move(servers)}});
    }
    return dump({
        {"period_ms", period_ms},
        {"capacity", capacity},
        {"servers", names},
        {"samples", std::move(list)},
    });
}

std::string events_json(const std::vector<StatusEvent>& events, std::size_t capacity, std::uint64_t total) {
    auto list = nlohmann::json::array();
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
        list.push_back({
            {"id", it->id},
            {"time", it->time > 0 ? util::format_rfc3339(it->time) : std::string()},
            {"kind", it->kind},
            {"host", it->host},
            {"peer", it->peer},
            {"reason", it->reason},
            {"detail", it->detail},
        });
    }
    return dump({{"capacity", capacity}, {"total", total}, {"events", std::move(list)}});
}

std::string config_json(SharedState& state) {
    const auto& o = state.options;
    const auto snapshot = state.snapshot();
    auto scopes = nlohmann::json::array();
    for (const auto& [scope, values] : snapshot->scoped.overrides) {
        scopes.push_back({
            {"scope", lb::describe_scope(scope)},
            {"zone", scope.zone},
            {"cluster", scope.cluster},
            {"values", values},
        });
    }
    const auto level = spdlog::level::to_string_view(o.log_level);
    return dump({
        {"server",
         {
             {"name", o.name},
             {"advertise", state.advertise},
             {"listen", endpoint_text(o.listen)},
             {"enroll_listen", endpoint_text(o.enroll_listen)},
             {"admin_listen", endpoint_text(o.admin_listen)},
             {"db", store::shown_location(o.db)},
             {"threads", o.threads},
             {"log_level", std::string(level.data(), level.size())},
             {"hook", o.hook},
             {"history_sample_ms", o.history_sample_period.count()},
         }},
        {"generation", snapshot->generation},
        {"global", snapshot->scoped.global},
        {"scopes", std::move(scopes)},
    });
}

}  // namespace agentlb::mgmt
