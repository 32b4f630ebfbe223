#pragma once

// The agent daemon: enrolment when needed, then keeping one session to the
// best reachable management server.
//
// Threads: everything below runs on one I/O thread, except file work
// (properties file, keys, certificates), which goes to the FileWorker and
// comes back by post(). The AgentStateFile belongs to the worker; the I/O
// thread keeps its own copy of the settings.
//
// Rules (DESIGN.md "Agent"):
// - connect: candidates in order (avoid list last), backoff between passes;
// - a session counts once `welcome` arrived;
// - preferred check every host.lb.check.interval s: make-before-break (none
//   while the held list's algorithm is shuffle, as in CloudStack);
// - pushes: persist, then adopt and ack;
// - migrate, or a list without the current server: move to another server
//   make-before-break, staying put while nothing else answers;
// - renewal at the servers' fraction (two thirds by default) of the certificate's life, checked hourly and at
//   connect, or at once when the server sends `reissue` (a CA rotation);
//   an expired certificate is renewed on the enrollment ports
//   (renew_expired, agent_expired.cpp) while the servers' grace allows;
// - `trust`: the CA bundle changes only as agent/trust_update.hpp allows;
// - --app-socket: the host's own software's messages, forwarded both ways
//   over the current session (agent/app_link.hpp);
// - SIGTERM/SIGINT: close and exit 0; SIGHUP: reload the properties file.
//
// Implemented in agent.cpp (construction, start, stop) and agent_*.cpp, one
// concern each; run_agent() in run_agent.cpp.

#include "agent/agent_state.hpp"
#include "agent/app_link.hpp"
#include "agent/connection_policy.hpp"
#include "agent/credentials.hpp"
#include "agent/file_worker.hpp"
#include "agent/list_push.hpp"
#include "agent/options.hpp"
#include "agent/server_session.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <openssl/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace agentlb::agent {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // enrolment refused or failed for good
inline constexpr int kExitUsage = 2;    // bad options or files: fix and restart

class Agent : public SessionEvents {
public:
    Agent(boost::asio::io_context& io, FileWorker& worker, AgentOptions options, AgentStateFile state);
    ~Agent() override;

    // Spawns the daemon on the io_context; run it afterwards.
    void start();
    int exit_code() const { return exit_code_; }
    // When the held list last changed before this run (the properties file's
    // modification time), for the metrics file.
    void set_list_changed_at(std::int64_t unix_seconds) { list_changed_at_ = unix_seconds; }

    // SessionEvents
    void on_list(const std::shared_ptr<ServerSession>& session, const wire::MsList& list) override;
    void on_migrate(const std::shared_ptr<ServerSession>& session,
                    const protocol::AgentMachine::Migrate& migrate) override;
    void on_certificate(const std::shared_ptr<ServerSession>& session,
                        const wire::Certificate& cert) override;
    void on_trust(const std::shared_ptr<ServerSession>& session, const wire::Trust& trust) override;
    void on_reissue(const std::shared_ptr<ServerSession>& session) override;
    void on_closed(const std::shared_ptr<ServerSession>& session, const std::string& reason) override;
    void on_app(const std::shared_ptr<ServerSession>& session, const wire::App& app) override;
    void on_app_room(const std::shared_ptr<ServerSession>& session) override;

private:
    boost::asio::awaitable<void> run();
    boost::asio::awaitable<bool> enroll();
    boost::asio::awaitable<bool> load_credentials_and_context();
    boost::asio::awaitable<void> connection_loop();
    boost::asio::awaitable<void> preferred_loop();
    boost::asio::awaitable<void> renewal_loop();
    // The certificate expired: renew_expired on the servers' enrollment
    // ports until it is renewed, replaced (SIGHUP) or the agent stops.
    boost::asio::awaitable<void> renew_expired_certificate();
    // Checks and stores what an enrollment port answered; false keeps the old files.
    boost::asio::awaitable<bool> adopt_renewed_expired(const wire::EnrollResponse& response,
                                                       const std::string& key_pem,
                                                       const std::string& ca_fingerprint,
                                                       const std::string& where);
    boost::asio::awaitable<void> signal_loop();
    // --metrics-file (agent_metrics.cpp): written at every change and every
    // kMetricsFileInterval; metrics_changed() wakes the loop.
    boost::asio::awaitable<void> metrics_loop();
    void metrics_changed();
    void write_metrics(bool final_write);
    boost::asio::awaitable<void> shutdown();

    // One pass over `candidates`; true once a session is adopted.
    boost::asio::awaitable<bool> connect_pass(std::vector<std::string> candidates, bool relocating);
    boost::asio::awaitable<DialOutcome> dial(const std::string& entry);
    // Sleeps; false when woken early (timer cancelled).
    boost::asio::awaitable<bool> sleep(boost::asio::steady_timer& timer,
                                       std::optional<std::chrono::milliseconds> duration);

    void adopt(const std::shared_ptr<ServerSession>& session, const std::string& why);
    void adopt_list(const ListPush& push);
    void apply_settings(AgentSettings settings, const std::string& why);
    // The policy follows the held list: its entries and its algorithm
    // (shuffle turns the preferred check off).
    void policy_from_settings();
    void after_list_change();
    void reload();
    void stop(int exit_code, const std::string& why);
    void wake_connection_loop();
    // `now`: renew even before the usual point (the server sent `reissue`).
    void check_renewal(bool now = false);
    bool certificate_expired() const;
    // A `renewal` object from welcome (nothing: an older server) or ms_list.
    void set_renewal_policy(const std::optional<wire::Renewal>& policy);
    std::string identity_name() const;
    Status rebuild_client_context();

    boost::asio::io_context& io_;
    FileWorker& worker_;
    AgentOptions options_;
    std::unique_ptr<AgentStateFile> state_;  // touched only by worker jobs
    AgentSettings settings_;                 // the I/O thread's copy
    ConnectionPolicy policy_;
    UnitRandom random_;  // jitters the policy's waits
    SessionTimeouts timeouts_;

    Credentials credentials_;
    std::shared_ptr<SSL_CTX> client_context_;
    std::string pending_key_pem_;  // renewal in flight
    // What the servers said about renewals (welcome, ms_list); nothing: the defaults.
    std::optional<wire::Renewal> renewal_policy_;
    std::string renewal_note_;            // the last problem with it, logged when it changes
    bool warned_manual_renewal_ = false;  // "automatic renewal is off" said once
    std::chrono::steady_clock::time_point pending_since_{};

    std::shared_ptr<ServerSession> current_;
    std::vector<std::weak_ptr<ServerSession>> retiring_;  // old sessions of a switch, closing soon
    int open_sessions_ = 0;
    bool switching_ = false;  // a make-before-break dial is in flight
    bool relocate_ = false;   // leave the current server (migrate, or no longer listed)
    // A migrate's `to`: the only entries to move to, staying if none answers
    // (a rebalance); empty: anywhere but the current server.
    std::vector<std::string> relocate_to_;
    bool running_ = false;  // past enrolment and credential loading
    bool stopping_ = false;
    bool warned_oversized_list_ = false;  // the held list does not fit in a hello (logged once)
    int exit_code_ = kExitOk;

    // The metrics file's figures.
    std::uint64_t failovers_ = 0;
    std::optional<std::string> lost_entry_;  // the server whose connection was lost, until the next adopt
    std::string metrics_list_;               // the held list last seen by write_metrics
    std::int64_t list_changed_at_ = 0;
    std::string metrics_error_;  // the last write failure; touched only by worker jobs

    std::unique_ptr<AppLink> app_link_;  // --app-socket (agent_app.cpp)

    boost::asio::signal_set signals_;
    boost::asio::steady_timer wake_;
    boost::asio::steady_timer retry_timer_;
    boost::asio::steady_timer preferred_timer_;
    boost::asio::steady_timer renewal_timer_;
    boost::asio::steady_timer metrics_timer_;
};

// Loads the properties file, runs the agent until a signal or a final
// failure, and returns the process exit code.
int run_agent(const AgentOptions& options);

}  // namespace agentlb::agent
