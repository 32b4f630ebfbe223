#pragma once

// agentlb-mgmt's --app-socket (issue 19): the platform's management
// application connects here and exchanges messages with the hosts' own
// agent software. The server holds no message: it routes each frame between
// an application connection and a host's agent session, and the client
// library at each end sends again what was not acknowledged (DESIGN.md "The
// platform's own messages").
//
// Routing, on this server:
// - application -> host: to the host's newest session here whose hello
//   announced an app socket; none: `undeliverable` back to the application
//   (for a message; an ack with nowhere to go is dropped, its sender's
//   stream repeats it).
// - host -> application: to the oldest connection here named as the message
//   says, so that each message goes to exactly one application connection;
//   none: `undeliverable` back to the host.
// Forwarding between servers (a host on another server) is not built yet:
// such a message is undeliverable here, with a reason that says so.
//
// The router lives on the server's main io_context; sessions call in from
// their own threads and are called back on theirs.

#include "common/appsock/connection.hpp"
#include "common/util/result.hpp"
#include "common/wire/messages.hpp"
#include "mgmt/metrics.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::mgmt {

class AgentSession;

class AppRouter : public appsock::AppHandler, public std::enable_shared_from_this<AppRouter> {
public:
    AppRouter(boost::asio::any_io_executor executor, std::string server_name, Metrics& metrics);

    // Opens the socket (appsock::open_app_socket's checks) and accepts.
    Result<bool> open(const std::filesystem::path& path, const std::string& group);
    // Stops accepting, closes every application connection, removes the socket.
    void stop();

    // A host's session that takes app messages was welcomed / ended. Any thread.
    void attach(const std::string& host, const std::shared_ptr<AgentSession>& session);
    void detach(const std::string& host, const AgentSession* session);
    // An app message from `host`'s session. Any thread.
    void from_host(std::shared_ptr<AgentSession> session, std::string host, wire::App app);

    // AppHandler (on the router's executor)
    bool ready(appsock::AppConnection& connection) override;
    void on_frame(appsock::AppConnection& connection, client::Frame frame) override;
    void on_closed(appsock::AppConnection& connection, const std::string& reason) override;

    // Application connections open now (greeted), for tests and metrics.
    std::size_t applications() const;

private:
    void deliver_from_host(const std::shared_ptr<AgentSession>& session,
                           const std::string& host,
                           wire::App app);
    std::shared_ptr<AgentSession> session_of(const std::string& host) const;

    boost::asio::any_io_executor executor_;
    std::string server_name_;
    Metrics& metrics_;
    std::filesystem::path path_;
    std::optional<appsock::Acceptor> acceptor_;
    // Every connection, greeted or not, oldest first (by id).
    std::map<std::uint64_t, std::shared_ptr<appsock::AppConnection>> connections_;
    std::uint64_t next_id_ = 1;
    bool stopped_ = false;

    mutable std::mutex sessions_mutex_;
    struct HostSession {
        const AgentSession* address;
        std::weak_ptr<AgentSession> session;
    };
    std::map<std::string, std::vector<HostSession>, std::less<>> sessions_;  // newest last
};

}  // namespace agentlb::mgmt
