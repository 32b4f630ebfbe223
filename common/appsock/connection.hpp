#pragma once

// One local client on an --app-socket (issue 19): frames of the local
// protocol (client/agentlb_client.hpp) read and written, nothing decided
// here. The owner (agentlb-agent's or agentlb-mgmt's app side) gets each
// frame through Handler and says when it can take the next one, so that a
// client that sends faster than agentlb can forward waits on its socket
// (back-pressure) instead of agentlb's memory growing.
//
// Runs on one executor (a strand or a single-threaded io_context); every
// member is called there.

#include "client/agentlb_client.hpp"
#include "common/appsock/listener.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace agentlb::appsock {

// Bytes queued for a client that does not read: beyond this, messages,
// acks and undeliverables are dropped (their sender sends them again: it
// holds a message until it is acknowledged) and other kinds close the
// connection. Counted in bytes, because memory is what it protects: 8 MiB
// holds about 25,000 frames of 256-byte messages, so that an application
// with thousands of commands in flight takes their answers in bursts
// without losing any.
inline constexpr std::size_t kMaxQueuedBytes = 8 * 1024 * 1024;

class AppConnection;

class AppHandler {
public:
    virtual ~AppHandler() = default;
    // Whether the next frame can be taken now; when false, reading stops
    // until the connection's resume() is called.
    virtual bool ready(AppConnection& connection) = 0;
    // One valid frame from the client, in order.
    virtual void on_frame(AppConnection& connection, client::Frame frame) = 0;
    // The connection ended (`reason` for the log); called once.
    virtual void on_closed(AppConnection& connection, const std::string& reason) = 0;
};

class AppConnection : public std::enable_shared_from_this<AppConnection> {
public:
    AppConnection(Socket socket, AppHandler& handler, std::uint64_t id);

    // Starts the reader and the writer.
    void start();
    // Queues a frame. Returns false when it was not queued: the connection
    // is closing, or a message, ack or undeliverable would take the queue
    // past kMaxQueuedBytes.
    bool send(const client::Frame& frame);
    // Sends an `error` frame with `reason`, then closes.
    void refuse(const std::string& reason);
    // Closes at once.
    void close(const std::string& reason);
    // The handler is ready again: reading goes on.
    void resume();

    std::uint64_t id() const { return id_; }
    // Set by the handler once the client's hello was accepted.
    std::string name;
    std::uint64_t epoch = 0;
    bool greeted = false;
    std::size_t queued() const { return outbox_.size(); }
    std::size_t queued_bytes() const { return queued_bytes_; }
    bool closing() const { return closing_; }

private:
    boost::asio::awaitable<void> read_loop();
    boost::asio::awaitable<void> write_loop();
    void finish(const std::string& reason);

    Socket socket_;
    AppHandler& handler_;
    std::uint64_t id_;
    client::FrameReader reader_;
    std::deque<std::string> outbox_;
    std::size_t queued_bytes_ = 0;
    boost::asio::steady_timer write_signal_;
    boost::asio::steady_timer resume_signal_;
    bool closing_ = false;
    bool flush_then_close_ = false;
    bool closed_reported_ = false;
    std::string reason_;
};

// The rules both daemons apply to a client's frames:
// - before hello, greet(): hello names the client and is answered with
//   welcome naming `own_name`; any other frame refuses the connection.
//   True when the client is greeted now.
// - after it, takes_stream_frame(): message and ack only; anything else
//   refuses the connection. True when the frame is one of those.
bool greet(AppConnection& connection, const client::Frame& frame, const std::string& own_name);
bool takes_stream_frame(AppConnection& connection, const client::Frame& frame);

// Accepts clients on `acceptor` until `stopped`, handing each socket to
// `on_client`; a failed accept is logged and the loop goes on.
boost::asio::awaitable<void> accept_clients(Acceptor& acceptor,
                                            const std::filesystem::path& path,
                                            const bool& stopped,
                                            std::function<void(Socket)> on_client);

}  // namespace agentlb::appsock
