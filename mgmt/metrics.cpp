#include "mgmt/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace agentlb::mgmt {

void Histogram::observe(double seconds) {
    if (seconds < 0) {
        seconds = 0;
    }
    for (std::size_t i = 0; i < kBounds.size(); ++i) {
        if (seconds <= kBounds[i]) {
            buckets_[i].fetch_add(1);
            break;
        }
    }
    count_.fetch_add(1);
    sum_micros_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6));
}

void Histogram::render(std::string& out, std::string_view name, std::string_view labels) const {
    const std::string before_le = labels.empty() ? std::string() : std::string(labels) + ",";
    const std::string own = labels.empty() ? std::string() : "{" + std::string(labels) + "}";
    // Buckets are stored individually and summed here, so the rendered
    // counts are cumulative as Prometheus requires. The count is read first:
    // an observation landing meanwhile must not make +Inf smaller than a bucket.
    const auto total = count_.load();
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kBounds.size(); ++i) {
        cumulative += buckets_[i].load();
        out += fmt::format(
            "{}_bucket{{{}le=\"{}\"}} {}\n", name, before_le, kBounds[i], std::min(cumulative, total));
    }
    out += fmt::format("{}_bucket{{{}le=\"+Inf\"}} {}\n", name, before_le, total);
    out += fmt::format("{}_sum{} {}\n", name, own, static_cast<double>(sum_micros_.load()) / 1e6);
    out += fmt::format("{}_count{} {}\n", name, own, total);
}

void Metrics::count_handshake(std::string_view result, HandshakeKind kind) {
    std::lock_guard lock(mutex_);
    auto it = handshakes_.find(result);
    if (it == handshakes_.end()) {
        it = handshakes_.emplace(std::string(result), std::array<std::uint64_t, kHandshakeKindTexts.size()>{})
                 .first;
    }
    ++it->second[static_cast<std::size_t>(kind)];
}

void Metrics::count_enrollment(std::string_view result) {
    std::lock_guard lock(mutex_);
    auto it = enrollments_.find(result);
    if (it == enrollments_.end()) {
        it = enrollments_.emplace(std::string(result), 0).first;
    }
    ++it->second;
}

std::uint64_t Metrics::handshakes(std::string_view result) const {
    return handshakes(result, HandshakeKind::full) + handshakes(result, HandshakeKind::resumed);
}

std::uint64_t Metrics::handshakes(std::string_view result, HandshakeKind kind) const {
    std::lock_guard lock(mutex_);
    auto it = handshakes_.find(result);
    return it == handshakes_.end() ? 0 : it->second[static_cast<std::size_t>(kind)];
}

std::uint64_t Metrics::enrollments(std::string_view result) const {
    std::lock_guard lock(mutex_);
    auto it = enrollments_.find(result);
    return it == enrollments_.end() ? 0 : it->second;
}

void Metrics::set_server_state(std::string_view state) {
    int index = 3;
    for (std::size_t i = 0; i < kServerStateTexts.size(); ++i) {
        if (kServerStateTexts[i] == state) {
            index = static_cast<int>(i);
        }
    }
    server_state.store(index);
}

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '"':
                out += "\\\"";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string Metrics::render() const {
    std::string out;
    out += "# HELP agentlb_agents_connected Agent sessions that completed hello on this server.\n";
    out += "# TYPE agentlb_agents_connected gauge\n";
    out += fmt::format("agentlb_agents_connected {}\n", agents_connected.load());
    out +=
        "# HELP agentlb_serving 1 while this server takes agents; 0 once it has lacked its store for longer "
        "than agentlb.store.unreachable.limit (it moves its agents away).\n";
    out += "# TYPE agentlb_serving gauge\n";
    out += fmt::format("agentlb_serving {}\n", serving.load());

    out +=
        "# HELP agentlb_server_state This server's state in the store: 1 for the current one (up, preparing "
        "= draining, maintenance, down).\n";
    out += "# TYPE agentlb_server_state gauge\n";
    for (std::size_t i = 0; i < kServerStateTexts.size(); ++i) {
        out += fmt::format("agentlb_server_state{{state=\"{}\"}} {}\n",
                           kServerStateTexts[i],
                           static_cast<int>(i) == server_state.load() ? 1 : 0);
    }
    out +=
        "# HELP agentlb_migrations_sent_total migrate messages sent to agents, by why (maintenance, "
        "shutdown, "
        "rebalance, store_outage).\n";
    out += "# TYPE agentlb_migrations_sent_total counter\n";
    for (std::size_t i = 0; i < kMigrationReasonTexts.size(); ++i) {
        out += fmt::format("agentlb_migrations_sent_total{{reason=\"{}\"}} {}\n",
                           kMigrationReasonTexts[i],
                           migrations_[i].load());
    }

    out +=
        "# HELP agentlb_handshakes_total Agent connections by outcome (ok or the refusal reason) and "
        "TLS handshake kind (full, or resumed from a session ticket).\n";
    out += "# TYPE agentlb_handshakes_total counter\n";
    {
        std::lock_guard lock(mutex_);
        if (handshakes_.find("ok") == handshakes_.end()) {
            for (const auto kind : kHandshakeKindTexts) {
                out += fmt::format("agentlb_handshakes_total{{result=\"ok\",kind=\"{}\"}} 0\n", kind);
            }
        }
        for (const auto& [result, counts] : handshakes_) {
            for (std::size_t i = 0; i < kHandshakeKindTexts.size(); ++i) {
                out += fmt::format("agentlb_handshakes_total{{result=\"{}\",kind=\"{}\"}} {}\n",
                                   escape_label_value(result),
                                   kHandshakeKindTexts[i],
                                   counts[i]);
            }
        }
    }

    out += "# HELP agentlb_session_tickets_sent_total TLS session tickets sent to agents after welcome.\n";
    out += "# TYPE agentlb_session_tickets_sent_total counter\n";
    out += fmt::format("agentlb_session_tickets_sent_total {}\n", session_tickets_sent.load());

    out += "# HELP agentlb_pushes_sent_total ms_list messages sent to agents.\n";
    out += "# TYPE agentlb_pushes_sent_total counter\n";
    out += fmt::format("agentlb_pushes_sent_total {}\n", pushes_sent.load());
    out += "# HELP agentlb_pushes_acked_total ms_list messages acknowledged by agents.\n";
    out += "# TYPE agentlb_pushes_acked_total counter\n";
    out += fmt::format("agentlb_pushes_acked_total {}\n", pushes_acked.load());
    out += "# HELP agentlb_pushes_unacked ms_list messages awaiting an ack on open sessions.\n";
    out += "# TYPE agentlb_pushes_unacked gauge\n";
    out += fmt::format("agentlb_pushes_unacked {}\n", pushes_unacked.load());
    out +=
        "# HELP agentlb_pushes_unanswered_total ms_list messages given up on open sessions: a later one was "
        "acknowledged instead, or no ack came in time.\n";
    out += "# TYPE agentlb_pushes_unanswered_total counter\n";
    out += fmt::format("agentlb_pushes_unanswered_total {}\n", pushes_unanswered.load());

    out +=
        "# HELP agentlb_app_frames_total Frames of the platform's own messages (--app-socket) routed by this "
        "server, by direction.\n";
    out += "# TYPE agentlb_app_frames_total counter\n";
    out += fmt::format("agentlb_app_frames_total{{direction=\"to_host\"}} {}\n", app_to_hosts.load());
    out += fmt::format("agentlb_app_frames_total{{direction=\"from_host\"}} {}\n", app_from_hosts.load());
    out +=
        "# HELP agentlb_app_undeliverable_total App messages answered undeliverable (no session or "
        "application to take them here).\n";
    out += "# TYPE agentlb_app_undeliverable_total counter\n";
    out += fmt::format("agentlb_app_undeliverable_total {}\n", app_undeliverable.load());
    out +=
        "# HELP agentlb_app_frames_dropped_total App frames dropped for a full queue; their sender sends "
        "them again.\n";
    out += "# TYPE agentlb_app_frames_dropped_total counter\n";
    out += fmt::format("agentlb_app_frames_dropped_total {}\n", app_messages_dropped.load());
    out +=
        "# HELP agentlb_peer_relays_total App frames relayed over the peer link between servers "
        "(--peer-listen)\n";
    out += "# TYPE agentlb_peer_relays_total counter\n";
    out += fmt::format("agentlb_peer_relays_total{{direction=\"sent\"}} {}\n", peer_relays_sent.load());
    out +=
        fmt::format("agentlb_peer_relays_total{{direction=\"received\"}} {}\n", peer_relays_received.load());
    out += "# HELP agentlb_peer_links Links of the peer link this server holds now, dialled and accepted\n";
    out += "# TYPE agentlb_peer_links gauge\n";
    out += fmt::format("agentlb_peer_links {}\n", peer_links.load());

    out += "# HELP agentlb_push_latency_seconds Time from sending ms_list to receiving its ack.\n";
    out += "# TYPE agentlb_push_latency_seconds histogram\n";
    push_latency.render(out, "agentlb_push_latency_seconds");

    out +=
        "# HELP agentlb_store_change_lag_seconds Time from seeing the last store change to handing it to "
        "every session.\n";
    out += "# TYPE agentlb_store_change_lag_seconds gauge\n";
    out += fmt::format("agentlb_store_change_lag_seconds {}\n", store_change_lag_seconds.load());

    // Only with a store that announces changes (PostgreSQL): SQLite has no feed to be up or down.
    if (const int feed = change_feed_state.load(); feed >= 0) {
        out +=
            "# HELP agentlb_store_change_feed_up 1 while this server listens for store changes, 0 while it "
            "reconnects (the safety poll keeps it in sync meanwhile).\n";
        out += "# TYPE agentlb_store_change_feed_up gauge\n";
        out += fmt::format("agentlb_store_change_feed_up {}\n", feed);
        out += "# HELP agentlb_store_notifications_total Store changes announced to this server.\n";
        out += "# TYPE agentlb_store_notifications_total counter\n";
        out += fmt::format("agentlb_store_notifications_total {}\n", store_notifications.load());
    }

    out += "# HELP agentlb_enrollments_total Enrollment requests by outcome.\n";
    out += "# TYPE agentlb_enrollments_total counter\n";
    {
        std::lock_guard lock(mutex_);
        // Always present, so alerts can rate() them from the start.
        auto shown = enrollments_;
        shown.try_emplace("ok", 0);
        shown.try_emplace("rate_limited", 0);
        for (const auto& [result, count] : shown) {
            out += fmt::format(
                "agentlb_enrollments_total{{result=\"{}\"}} {}\n", escape_label_value(result), count);
        }
    }
    render_hooks(out);
    render_certificates(out);
    render_admission(out);
    render_sessions(out);
    return out;
}

void Metrics::render_sessions(std::string& out) const {
    out +=
        "# HELP agentlb_handshake_duration_seconds Agent TLS handshakes that succeeded, from accept to "
        "finished, by kind (full, or resumed from a session ticket).\n";
    out += "# TYPE agentlb_handshake_duration_seconds histogram\n";
    for (std::size_t i = 0; i < kHandshakeKindTexts.size(); ++i) {
        handshake_duration[i].render(
            out, "agentlb_handshake_duration_seconds", fmt::format("kind=\"{}\"", kHandshakeKindTexts[i]));
    }
    out +=
        "# HELP agentlb_sessions_ended_total Welcomed agent sessions that ended on this server, by why "
        "(see docs/OPERATIONS.md).\n";
    out += "# TYPE agentlb_sessions_ended_total counter\n";
    for (std::size_t i = 0; i < kSessionEndReasonTexts.size(); ++i) {
        out += fmt::format("agentlb_sessions_ended_total{{reason=\"{}\"}} {}\n",
                           kSessionEndReasonTexts[i],
                           sessions_ended_[i].load());
    }
    out +=
        "# HELP agentlb_failovers_observed_total Agents that arrived here while their connection record "
        "named another server that was down, or was judged down within 8 heartbeat intervals.\n";
    out += "# TYPE agentlb_failovers_observed_total counter\n";
    out += fmt::format("agentlb_failovers_observed_total {}\n", failovers_observed.load());
}

void Metrics::render_admission(std::string& out) const {
    out +=
        "# HELP agentlb_handshake_admissions_total Agent-port connections at accept: admitted to a "
        "handshake, or pushed back (agentlb.handshake.max.inflight handshakes in progress).\n";
    out += "# TYPE agentlb_handshake_admissions_total counter\n";
    out += fmt::format("agentlb_handshake_admissions_total{{result=\"admitted\"}} {}\n",
                       handshakes_admitted.load());
    out += fmt::format("agentlb_handshake_admissions_total{{result=\"pushed_back\"}} {}\n",
                       handshakes_pushed_back.load());
    out +=
        "# HELP agentlb_handshakes_inflight Agent handshakes in progress (accept until welcome is sent or "
        "the connection ends).\n";
    out += "# TYPE agentlb_handshakes_inflight gauge\n";
    out += fmt::format("agentlb_handshakes_inflight {}\n", handshakes_inflight.load());
}

void Metrics::render_certificates(std::string& out) const {
    out += "# HELP agentlb_ca_not_after_seconds When the CA certificate expires (Unix seconds).\n";
    out += "# TYPE agentlb_ca_not_after_seconds gauge\n";
    out += fmt::format("agentlb_ca_not_after_seconds {}\n", ca_not_after.load());
    out +=
        "# HELP agentlb_server_certificate_not_after_seconds When this server's certificate expires (Unix "
        "seconds).\n";
    out += "# TYPE agentlb_server_certificate_not_after_seconds gauge\n";
    out +=
        fmt::format("agentlb_server_certificate_not_after_seconds {}\n", server_certificate_not_after.load());
    if (const auto expiring = agent_certificates_expiring_30d.load(); expiring >= 0) {
        out +=
            "# HELP agentlb_agent_certificates_expiring_30d Live agent certificates (not revoked, not "
            "expired) "
            "that expire within 30 days, cluster-wide.\n";
        out += "# TYPE agentlb_agent_certificates_expiring_30d gauge\n";
        out += fmt::format("agentlb_agent_certificates_expiring_30d {}\n", expiring);
    }
    out +=
        "# HELP agentlb_certificate_renewals_total Certificate renewals by this server: agents' (asked over "
        "their session) and its own, by result (ok, refused = the request was refused, failed = the store "
        "or the files failed).\n";
    out += "# TYPE agentlb_certificate_renewals_total counter\n";
    for (std::size_t kind = 0; kind < kRenewalKindTexts.size(); ++kind) {
        for (std::size_t result = 0; result < kRenewalResultTexts.size(); ++result) {
            out += fmt::format("agentlb_certificate_renewals_total{{kind=\"{}\",result=\"{}\"}} {}\n",
                               kRenewalKindTexts[kind],
                               kRenewalResultTexts[result],
                               renewals_[kind][result].load());
        }
    }
    out +=
        "# HELP agentlb_certificate_revocations_applied_total Revoked serials this server learned from the "
        "store.\n";
    out += "# TYPE agentlb_certificate_revocations_applied_total counter\n";
    out += fmt::format("agentlb_certificate_revocations_applied_total {}\n", revocations_applied.load());
    out +=
        "# HELP agentlb_revoked_sessions_closed_total Agent sessions this server closed because their "
        "certificate was revoked.\n";
    out += "# TYPE agentlb_revoked_sessions_closed_total counter\n";
    out += fmt::format("agentlb_revoked_sessions_closed_total {}\n", revoked_sessions_closed.load());
    out +=
        "# HELP agentlb_ticket_key_rotations_total Times the shared TLS ticket key that encrypts this "
        "server's session tickets changed.\n";
    out += "# TYPE agentlb_ticket_key_rotations_total counter\n";
    out += fmt::format("agentlb_ticket_key_rotations_total {}\n", ticket_key_rotations.load());
}

// Always present (zero without --hook), so alerts can rate() them from the start.
void Metrics::render_hooks(std::string& out) const {
    out +=
        "# HELP agentlb_hook_runs_total Runs of the --hook program by outcome (ok, failed = exit status "
        "not 0 or not started, timeout = killed after --hook-timeout).\n";
    out += "# TYPE agentlb_hook_runs_total counter\n";
    out += fmt::format("agentlb_hook_runs_total{{result=\"ok\"}} {}\n", hook_runs_ok.load());
    out += fmt::format("agentlb_hook_runs_total{{result=\"failed\"}} {}\n", hook_runs_failed.load());
    out += fmt::format("agentlb_hook_runs_total{{result=\"timeout\"}} {}\n", hook_runs_timeout.load());
    out +=
        "# HELP agentlb_hook_events_dropped_total Hook events never run: the queue was full, or this "
        "server stopped first.\n";
    out += "# TYPE agentlb_hook_events_dropped_total counter\n";
    out += fmt::format("agentlb_hook_events_dropped_total {}\n", hook_events_dropped.load());
}

}  // namespace agentlb::mgmt
