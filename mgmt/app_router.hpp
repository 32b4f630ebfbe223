#pragma once

// agentlb-mgmt's --app-socket (issue 19): the platform's management
// application connects here and exchanges messages with the hosts' own
// agent software. The server holds no message: it routes each frame between
// an application connection and a host's agent session, and the client
// library at each end sends again what was not acknowledged (DESIGN.md "The
// platform's own messages").
//
// Routing (DESIGN.md "The platform's own messages"):
// - application -> host: to the host's newest session here that announced
//   an app socket; else to the server its connection record names, over
//   the peer link (peer_links.hpp); nowhere: `undeliverable` back to the
//   application (for a message; an ack with nowhere to go is dropped, its
//   sender's stream repeats it).
// - host -> application: a message goes to the application's connection
//   whose client started first (the smallest hello epoch) anywhere in the
//   cluster, here or over the peer link, so that each message reaches
//   exactly one connection and a host's stream stays with one instance of
//   the application across failovers; an ack goes to the connection of the
//   stream it acknowledges (its epoch). Nowhere: `undeliverable` back to
//   the host.
// Where hosts and applications are comes from the store (connection
// records, the applications table), cached briefly: a cached place that
// went stale costs one `undeliverable`, and the sender sends again.
//
// The router lives on the server's main io_context; sessions call in from
// their own threads and are called back on theirs.

#include "common/appsock/connection.hpp"
#include "common/store/records.hpp"
#include "common/util/result.hpp"
#include "common/wire/messages.hpp"
#include "mgmt/metrics.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::mgmt {

class AgentSession;
class PeerLink;
class PeerLinks;
class SharedState;

class AppRouter : public appsock::AppHandler, public std::enable_shared_from_this<AppRouter> {
public:
    AppRouter(boost::asio::any_io_executor executor, SharedState& state);

    // Opens the socket (appsock::open_app_socket's checks) and accepts.
    Result<bool> open(const std::filesystem::path& path, const std::string& group);
    // Forwards to other servers over `links` (--peer-listen); without it a
    // host or an application elsewhere is undeliverable. Before open().
    void use_peer_links(std::shared_ptr<PeerLinks> links);
    // Stops accepting, closes every application connection, removes the socket.
    void stop();

    // A host's session that takes app messages was welcomed / ended. Any thread.
    void attach(const std::string& host, const std::shared_ptr<AgentSession>& session);
    void detach(const std::string& host, const AgentSession* session);
    // App messages from `host`'s session, in order. Any thread.
    void from_host(std::string host, std::vector<wire::App> apps);

    // A session or a link that was full has room again, or a session ended:
    // the frames held for it go on. Any thread.
    void on_room();

    // AppHandler (on the router's executor)
    bool ready(appsock::AppConnection& connection) override;
    void on_frame(appsock::AppConnection& connection, client::Frame frame) override;
    void on_closed(appsock::AppConnection& connection, const std::string& reason) override;

    // Application connections open now (greeted), for tests and metrics.
    std::size_t applications() const;

private:
    using Clock = std::chrono::steady_clock;
    // How long a host's or an application's place, read from the store, is
    // trusted before it is read again.
    static constexpr std::chrono::seconds kHostPlaceTtl{5};
    static constexpr std::chrono::seconds kAppPlacesTtl{1};
    // Frames waiting for one lookup of the store; beyond, they are dropped
    // (their sender sends them again).
    static constexpr std::size_t kMaxWaiting = 4096;

    // Read from the store in one job with the server rows, so a server that
    // just started knows its peers' addresses at once.
    struct HostPlace {
        std::string server;   // "" = no server holds it
        std::string address;  // its peer link; "" = not reachable: the reason says why
        std::string reason;
        Clock::time_point at;
    };
    struct AppPlaces {
        // On servers other than this one that are up and have a peer link, by epoch.
        std::vector<store::ApplicationRecord> elsewhere;
        std::map<std::string, std::string> addresses;  // their peer links, by server
        Clock::time_point at;
    };
    // Where a host->application message goes: a connection here, or a server.
    struct AppTarget {
        std::shared_ptr<appsock::AppConnection> here;
        std::string server;
        std::string address;
    };

    // app_router_relay.cpp: between servers.
    // Routes the application connection `from`'s frame for `host`; false
    // when its queue is full (`app` untouched): the caller holds it.
    bool to_host(std::uint64_t from, const std::string& host, wire::App& app);
    bool to_host_elsewhere(const std::string& host, wire::App& app, const HostPlace& place);
    void to_app(const std::string& host, wire::App app);
    void to_app_elsewhere(const std::string& host, wire::App app, bool read_again);
    std::optional<AppTarget> app_target(const std::string& name, const wire::App& app) const;
    void on_relay(const std::shared_ptr<PeerLink>& link, wire::Relay relay);
    void on_dialled_closed(const std::string& server);
    // Runs `then` once the host's (application's) place is known, reading the store if needed.
    void with_host_place(const std::string& host, std::function<void(const HostPlace&)> then);
    void with_app_places(const std::string& name, std::function<void()> then);
    boost::asio::awaitable<void> look_up_host(std::string host);
    boost::asio::awaitable<void> look_up_app(std::string name);

    // app_router.cpp: this server's connections and sessions.
    // Push-back: `from`'s frames wait while their destination is full, and
    // `from` is not read meanwhile.
    void hold(std::uint64_t from, const std::string& host, wire::App app);
    void retry_held();
    void deliver_to_connection(const std::shared_ptr<appsock::AppConnection>& connection,
                               const std::string& host,
                               const wire::App& app);
    void undeliverable_to_app(const std::string& host, const wire::App& app, std::string reason);
    void undeliverable_to_host(const std::string& host, const wire::App& app, std::string reason);
    // The `undeliverable` that answers `message` (its stream's epoch and sequence).
    static wire::App undeliverable_answer(const wire::App& message, std::string reason);
    // The greeted connection named `name`: with this stream epoch, or (0) the one whose client started first.
    std::shared_ptr<appsock::AppConnection> connection_named(const std::string& name,
                                                             std::uint64_t epoch) const;
    std::shared_ptr<AgentSession> session_of(const std::string& host) const;
    void record_application(const appsock::AppConnection& connection, bool connected);

    boost::asio::any_io_executor executor_;
    SharedState& state_;
    std::string server_name_;
    Metrics& metrics_;
    std::shared_ptr<PeerLinks> links_;
    std::filesystem::path path_;
    std::optional<appsock::Acceptor> acceptor_;
    // Every connection, greeted or not, oldest first (by id).
    std::map<std::uint64_t, std::shared_ptr<appsock::AppConnection>> connections_;
    std::uint64_t next_id_ = 1;
    bool stopped_ = false;

    struct Held {
        std::string host;
        wire::App app;
    };
    std::map<std::uint64_t, std::deque<Held>> held_;  // by connection id, in order

    std::map<std::string, HostPlace> host_places_;
    std::map<std::string, AppPlaces> app_places_;
    std::map<std::string, std::vector<std::function<void(const HostPlace&)>>> waiting_for_hosts_;
    std::map<std::string, std::vector<std::function<void()>>> waiting_for_apps_;

    mutable std::mutex sessions_mutex_;
    struct HostSession {
        const AgentSession* address;
        std::weak_ptr<AgentSession> session;
    };
    std::map<std::string, std::vector<HostSession>, std::less<>> sessions_;  // newest last
};

}  // namespace agentlb::mgmt
