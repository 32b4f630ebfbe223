#include "mgmt/app_router.hpp"

#include "common/util/exception_text.hpp"
#include "mgmt/agent_session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace agentlb::mgmt {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

client::Frame undeliverable_frame(const std::string& peer,
                                  std::uint64_t epoch,
                                  std::uint64_t sequence,
                                  std::string reason) {
    client::Frame frame;
    frame.kind = client::FrameKind::undeliverable;
    frame.peer = peer;
    frame.epoch = epoch;
    frame.sequence = sequence;
    frame.payload = std::move(reason);
    return frame;
}

}  // namespace

AppRouter::AppRouter(asio::any_io_executor executor, std::string server_name, Metrics& metrics)
    : executor_(std::move(executor)), server_name_(std::move(server_name)), metrics_(metrics) {}

Result<bool> AppRouter::open(const std::filesystem::path& path, const std::string& group) {
    auto acceptor = appsock::open_app_socket(executor_, path, group);
    if (!acceptor) {
        return fail(acceptor.error());
    }
    path_ = path;
    acceptor_.emplace(std::move(*acceptor));
    auto self = shared_from_this();
    auto on_client = [self](appsock::Socket socket) {
        const std::uint64_t id = self->next_id_++;
        auto connection = std::make_shared<appsock::AppConnection>(std::move(socket), *self, id);
        self->connections_.emplace(id, connection);
        connection->start();
    };
    // The lambda, kept by co_spawn until the loop ends, keeps the router alive.
    asio::co_spawn(
        executor_,
        [self, on_client] {
            return appsock::accept_clients(*self->acceptor_, self->path_, self->stopped_, on_client);
        },
        [](std::exception_ptr ep) {
            if (auto text = util::exception_text(ep)) {
                spdlog::error("app socket: accepting ended by an exception: {}", *text);
            }
        });
    spdlog::info("app socket {} open (mode 0660{})", path.string(), group.empty() ? "" : ", group " + group);
    return true;
}

void AppRouter::stop() {
    asio::post(executor_, [self = shared_from_this()] {
        if (self->stopped_) {
            return;
        }
        self->stopped_ = true;
        if (self->acceptor_) {
            error_code ignored;
            self->acceptor_->close(ignored);
            std::error_code not_removed;  // gone already: nothing to do
            std::filesystem::remove(self->path_, not_removed);
        }
        auto connections = self->connections_;
        for (auto& [id, connection] : connections) {
            connection->close("the server stops");
        }
    });
}

void AppRouter::attach(const std::string& host, const std::shared_ptr<AgentSession>& session) {
    std::lock_guard lock(sessions_mutex_);
    sessions_[host].push_back(HostSession{session.get(), session});
}

void AppRouter::detach(const std::string& host, const AgentSession* session) {
    std::lock_guard lock(sessions_mutex_);
    auto it = sessions_.find(host);
    if (it == sessions_.end()) {
        return;
    }
    std::erase_if(it->second, [&](const HostSession& s) { return s.address == session; });
    if (it->second.empty()) {
        sessions_.erase(it);
    }
}

std::shared_ptr<AgentSession> AppRouter::session_of(const std::string& host) const {
    std::lock_guard lock(sessions_mutex_);
    auto it = sessions_.find(host);
    if (it == sessions_.end()) {
        return nullptr;
    }
    for (auto s = it->second.rbegin(); s != it->second.rend(); ++s) {
        if (auto session = s->session.lock()) {
            return session;
        }
    }
    return nullptr;
}

void AppRouter::from_host(std::shared_ptr<AgentSession> session, std::string host, wire::App app) {
    asio::post(executor_,
               [self = shared_from_this(),
                session = std::move(session),
                host = std::move(host),
                app = std::move(app)]() mutable { self->deliver_from_host(session, host, std::move(app)); });
}

void AppRouter::deliver_from_host(const std::shared_ptr<AgentSession>& session,
                                  const std::string& host,
                                  wire::App app) {
    for (auto& [id, connection] : connections_) {
        if (!connection->greeted || connection->closing() || connection->name != app.app) {
            continue;
        }
        auto frame = wire::app_frame(app);
        if (!frame) {
            return;
        }
        frame->peer = host;
        // A message a slow application cannot take now is dropped: the
        // host's client sends it again until acknowledged.
        if (connection->send(*frame)) {
            metrics_.app_from_hosts.fetch_add(1);
        } else {
            metrics_.app_messages_dropped.fetch_add(1);
        }
        return;
    }
    if (app.kind != "message") {
        return;  // an ack with nowhere to go: the application's stream repeats its message
    }
    wire::App answer;
    answer.kind = "undeliverable";
    answer.app = app.app;
    answer.epoch = app.epoch;
    answer.sequence = app.sequence;
    answer.payload = "no application '" + app.app + "' is connected to server " + server_name_;
    metrics_.app_undeliverable.fetch_add(1);
    session->send_app(std::move(answer));
}

bool AppRouter::ready(appsock::AppConnection& /*connection*/) {
    return true;
}

void AppRouter::on_frame(appsock::AppConnection& connection, client::Frame frame) {
    if (!connection.greeted) {
        if (appsock::greet(connection, frame, server_name_)) {
            spdlog::info("app socket: application '{}' connected", frame.peer);
        }
        return;
    }
    if (!appsock::takes_stream_frame(connection, frame)) {
        return;
    }
    const std::string host = frame.peer;
    frame.peer = connection.name;
    auto app = wire::app_message(frame);
    if (!app) {
        connection.refuse("epoch, sequence, floor and reply_to must be below 2^63");
        return;
    }
    auto session = session_of(host);
    if (!session) {
        if (frame.kind == client::FrameKind::message) {
            metrics_.app_undeliverable.fetch_add(1);
            connection.send(
                undeliverable_frame(host,
                                    frame.epoch,
                                    frame.sequence,
                                    "host '" + host + "' has no session with an app socket on server " +
                                        server_name_ + " (forwarding between servers is not built yet)"));
        }
        return;
    }
    metrics_.app_to_hosts.fetch_add(1);
    session->send_app(std::move(*app));
}

void AppRouter::on_closed(appsock::AppConnection& connection, const std::string& reason) {
    if (connection.greeted) {
        spdlog::info("app socket: application '{}' disconnected: {}", connection.name, reason);
    }
    connections_.erase(connection.id());
}

std::size_t AppRouter::applications() const {
    return static_cast<std::size_t>(std::count_if(
        connections_.begin(), connections_.end(), [](const auto& entry) { return entry.second->greeted; }));
}

}  // namespace agentlb::mgmt
