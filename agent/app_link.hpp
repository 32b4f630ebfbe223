#pragma once

// agentlb-agent's --app-socket (issue 19): the host's own agent software
// talks to the management application through it. The agent holds no
// message: it forwards each frame between its one local client and the
// current server session, and the client library at each end sends again
// what was not acknowledged (DESIGN.md "The platform's own messages").
//
// - One client at a time holds the host's streams: a second is refused with
//   a reason while the first is connected.
// - The client's first frame is hello; it is answered with welcome naming
//   this host. After it the client sends message and ack frames only.
// - Back-pressure: the client's frames are read only while a session to a
//   server is established and its send queue has room; otherwise they wait
//   on the socket.
// - From the server: message, ack and undeliverable frames go to the
//   client; with no client connected they are dropped (the application
//   sends them again until its time to live runs out).

#include "agent/server_session.hpp"
#include "common/appsock/connection.hpp"
#include "common/util/result.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace agentlb::agent {

class AppLink : public appsock::AppHandler {
public:
    // `host_name` says the host's name when a client is welcomed: the socket
    // opens at start-up, before enrolment may have given the host its name.
    AppLink(boost::asio::any_io_executor executor, std::function<std::string()> host_name);

    // Opens the socket (appsock::open_app_socket's checks) and starts
    // accepting; a failure says what is wrong with the path.
    Result<bool> open(const std::filesystem::path& path, const std::string& group);
    // Stops accepting, closes the client and removes the socket file.
    void stop();

    // The session app messages go out on now (nullptr: none).
    void on_session(std::shared_ptr<ServerSession> session);
    // The session's send queue has room again.
    void on_room();
    // A message from the management application.
    void on_app(const wire::App& app);

    // AppHandler
    bool ready(appsock::AppConnection& connection) override;
    void on_frame(appsock::AppConnection& connection, client::Frame frame) override;
    void on_closed(appsock::AppConnection& connection, const std::string& reason) override;

private:
    void resume_client();

    boost::asio::any_io_executor executor_;
    std::function<std::string()> host_name_;
    std::filesystem::path path_;
    std::optional<appsock::Acceptor> acceptor_;
    std::shared_ptr<appsock::AppConnection> client_;                // the greeted client
    std::vector<std::shared_ptr<appsock::AppConnection>> waiting_;  // not greeted yet
    std::shared_ptr<ServerSession> session_;
    std::uint64_t next_id_ = 1;
    bool stopped_ = false;
};

}  // namespace agentlb::agent
