#pragma once

// Counters and gauges the admin endpoint exposes in Prometheus text format.
//
// Every member is safe to update from any thread: plain atomics for the hot
// counters, a mutex only for the labelled ones (handshake and enrollment
// results), which change once per connection.

#include "mgmt/session_end_reason.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace agentlb::mgmt {

// A fixed-bucket histogram of seconds (Prometheus "le" buckets).
class Histogram {
public:
    static constexpr std::array<double, 12> kBounds{
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0};

    void observe(double seconds);
    // Appends the _bucket, _sum and _count lines for `name`; `labels`
    // (`kind="full"`, already escaped) go before `le` on every line.
    void render(std::string& out, std::string_view name, std::string_view labels = {}) const;
    std::uint64_t count() const { return count_.load(); }

private:
    std::array<std::atomic<std::uint64_t>, kBounds.size()> buckets_{};
    std::atomic<std::uint64_t> count_{0};
    std::atomic<std::uint64_t> sum_micros_{0};
};

// Why a server sent `migrate` (agentlb_migrations_sent_total's reason).
enum class MigrationReason : std::uint8_t { maintenance, shutdown, rebalance, store_outage };
inline constexpr std::array<std::string_view, 4> kMigrationReasonTexts{
    "maintenance", "shutdown", "rebalance", "store_outage"};

// agentlb_certificate_renewals_total's labels.
enum class RenewalKind : std::uint8_t { agent, server };
enum class RenewalResult : std::uint8_t { ok, refused, failed };
inline constexpr std::array<std::string_view, 2> kRenewalKindTexts{"agent", "server"};
inline constexpr std::array<std::string_view, 3> kRenewalResultTexts{"ok", "refused", "failed"};

// agentlb_handshakes_total's `kind`: a full TLS handshake or a resumed one
// (a session ticket). A handshake that failed counts as full: a refused
// ticket falls back to a full handshake.
enum class HandshakeKind : std::uint8_t { full, resumed };
inline constexpr std::array<std::string_view, 2> kHandshakeKindTexts{"full", "resumed"};

// This server's state as the store holds it (agentlb_server_state).
inline constexpr std::array<std::string_view, 4> kServerStateTexts{"up", "preparing", "maintenance", "down"};

class Metrics {
public:
    std::atomic<std::int64_t> agents_connected{0};
    std::atomic<std::uint64_t> pushes_sent{0};
    std::atomic<std::uint64_t> pushes_acked{0};
    // Pushes sent to sessions that are still open and not yet acknowledged
    // (and not given up: see pushes_unanswered).
    std::atomic<std::int64_t> pushes_unacked{0};
    // Pushes whose ack will never come on an open session: a later push was
    // acknowledged instead, none came within 3 heartbeat intervals, or too
    // many were waiting. Usually an agent that could not store its list.
    std::atomic<std::uint64_t> pushes_unanswered{0};
    // The platform's own messages (issue 19): frames routed each way, those
    // answered `undeliverable`, and those dropped for a full queue (their
    // sender sends them again).
    std::atomic<std::uint64_t> app_to_hosts{0};
    std::atomic<std::uint64_t> app_from_hosts{0};
    std::atomic<std::uint64_t> app_undeliverable{0};
    std::atomic<std::uint64_t> app_messages_dropped{0};
    // The peer link between servers (issue 19): relays sent and received,
    // and the links this server holds now (dialled and accepted).
    std::atomic<std::uint64_t> peer_relays_sent{0};
    std::atomic<std::uint64_t> peer_relays_received{0};
    std::atomic<std::int64_t> peer_links{0};
    // For the last generation change: seconds from reading the new generation
    // to handing the new snapshot to every session (the poll period, up to
    // kGenerationPoll on SQLite, or the notification's delivery on
    // PostgreSQL, comes on top).
    std::atomic<double> store_change_lag_seconds{0.0};
    // 0 while this server has lacked its store for longer than
    // agentlb.store.unreachable.limit and moves its agents away.
    std::atomic<int> serving{1};
    // The store's change feed (PostgreSQL LISTEN): -1 none (SQLite polls),
    // 1 listening, 0 lost and reconnecting. Announced changes counted.
    std::atomic<int> change_feed_state{-1};
    std::atomic<std::uint64_t> store_notifications{0};
    Histogram push_latency;
    // Index in kServerStateTexts of this server's state (its row in the last snapshot).
    std::atomic<int> server_state{0};

    // Membership hooks (--hook, hook_runner.hpp): runs by outcome, events dropped.
    std::atomic<std::uint64_t> hook_runs_ok{0};
    std::atomic<std::uint64_t> hook_runs_failed{0};
    std::atomic<std::uint64_t> hook_runs_timeout{0};
    std::atomic<std::uint64_t> hook_events_dropped{0};

    // Certificates (issue 16): Unix seconds of the CA's and of this server's
    // notAfter; live agent certificates expiring within 30 days (-1 until
    // first counted, read from the store at most once a minute).
    std::atomic<std::int64_t> ca_not_after{0};
    std::atomic<std::int64_t> server_certificate_not_after{0};
    std::atomic<std::int64_t> agent_certificates_expiring_30d{-1};
    // Serials this server learned were revoked (new in a snapshot's list),
    // and sessions it closed because their certificate was revoked.
    std::atomic<std::uint64_t> revocations_applied{0};
    std::atomic<std::uint64_t> revoked_sessions_closed{0};
    // TLS 1.3 session tickets written to agents (one per session after
    // welcome; none while agentlb.tls.ticket.lifetime is 0).
    std::atomic<std::uint64_t> session_tickets_sent{0};
    // Times the TLS ticket key that encrypts this server's tickets changed
    // (a rotation, by any server: the keys are shared through the store).
    std::atomic<std::uint64_t> ticket_key_rotations{0};

    // Admission control (admission.hpp): connections admitted to a handshake
    // or pushed back at accept, and handshakes in progress now.
    std::atomic<std::uint64_t> handshakes_admitted{0};
    std::atomic<std::uint64_t> handshakes_pushed_back{0};
    std::atomic<std::int64_t> handshakes_inflight{0};

    // TLS handshakes that succeeded, accept to finished, by kind
    // (kHandshakeKindTexts' order).
    std::array<Histogram, kHandshakeKindTexts.size()> handshake_duration;
    void observe_handshake(HandshakeKind kind, double seconds) {
        handshake_duration[static_cast<std::size_t>(kind)].observe(seconds);
    }
    // Agents arriving here whose connection record named another server
    // that turned out to be down (FailoverWatch).
    std::atomic<std::uint64_t> failovers_observed{0};

    void count_session_end(SessionEndReason reason) {
        sessions_ended_[static_cast<std::size_t>(reason)].fetch_add(1);
    }
    std::uint64_t sessions_ended(SessionEndReason reason) const {
        return sessions_ended_[static_cast<std::size_t>(reason)].load();
    }

    void count_renewal(RenewalKind kind, RenewalResult result) {
        renewals_[static_cast<std::size_t>(kind)][static_cast<std::size_t>(result)].fetch_add(1);
    }
    std::uint64_t renewals(RenewalKind kind, RenewalResult result) const {
        return renewals_[static_cast<std::size_t>(kind)][static_cast<std::size_t>(result)].load();
    }

    void count_migrations(MigrationReason reason, std::uint64_t n) {
        migrations_[static_cast<std::size_t>(reason)].fetch_add(n);
    }
    std::uint64_t migrations(MigrationReason reason) const {
        return migrations_[static_cast<std::size_t>(reason)].load();
    }
    // Sets server_state from the state's text (an unknown text shows as down).
    void set_server_state(std::string_view state);

    // `result` is "ok" or a short refusal reason ("no_certificate", "timeout", ...).
    void count_handshake(std::string_view result, HandshakeKind kind);
    void count_enrollment(std::string_view result);

    // Of both kinds.
    std::uint64_t handshakes(std::string_view result) const;
    std::uint64_t handshakes(std::string_view result, HandshakeKind kind) const;
    std::uint64_t enrollments(std::string_view result) const;

    std::string render() const;

private:
    void render_hooks(std::string& out) const;
    void render_certificates(std::string& out) const;
    void render_admission(std::string& out) const;
    void render_sessions(std::string& out) const;

    std::array<std::array<std::atomic<std::uint64_t>, kRenewalResultTexts.size()>, kRenewalKindTexts.size()>
        renewals_{};

    std::array<std::atomic<std::uint64_t>, kMigrationReasonTexts.size()> migrations_{};
    std::array<std::atomic<std::uint64_t>, kSessionEndReasonTexts.size()> sessions_ended_{};
    mutable std::mutex mutex_;
    // By result, then by kind (kHandshakeKindTexts' order).
    std::map<std::string, std::array<std::uint64_t, kHandshakeKindTexts.size()>, std::less<>> handshakes_;
    std::map<std::string, std::uint64_t, std::less<>> enrollments_;
};

// Escapes a Prometheus label value (backslash, double quote, newline).
std::string escape_label_value(std::string_view value);

}  // namespace agentlb::mgmt
