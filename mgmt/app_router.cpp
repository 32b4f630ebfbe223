#include "mgmt/app_router.hpp"

#include "common/util/clock.hpp"
#include "common/util/exception_text.hpp"
#include "mgmt/agent_session.hpp"
#include "mgmt/peer_links.hpp"
#include "mgmt/shared_state.hpp"

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

AppRouter::AppRouter(asio::any_io_executor executor, SharedState& state)
    : executor_(std::move(executor)),
      state_(state),
      server_name_(state.options.name),
      metrics_(state.metrics) {}

void AppRouter::use_peer_links(std::shared_ptr<PeerLinks> links) {
    links_ = std::move(links);
    std::weak_ptr<AppRouter> weak = shared_from_this();
    links_->set_handlers(
        [weak](const std::shared_ptr<PeerLink>& link, wire::Relay relay) {
            if (auto self = weak.lock()) {
                self->on_relay(link, std::move(relay));
            }
        },
        [weak](const std::string& server) {
            if (auto self = weak.lock()) {
                self->on_dialled_closed(server);
            }
        },
        [weak] {
            if (auto self = weak.lock()) {
                self->retry_held();
            }
        });
}

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
        if (self->links_) {
            self->links_->stop();
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
    on_room();  // frames held for it go elsewhere now, or back undeliverable
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

void AppRouter::from_host(std::string host, std::vector<wire::App> apps) {
    asio::post(executor_,
               [self = shared_from_this(), host = std::move(host), apps = std::move(apps)]() mutable {
                   for (auto& app : apps) {
                       self->to_app(host, std::move(app));
                   }
               });
}

std::shared_ptr<appsock::AppConnection> AppRouter::connection_named(const std::string& name,
                                                                    std::uint64_t epoch) const {
    std::shared_ptr<appsock::AppConnection> found;
    for (const auto& [id, connection] : connections_) {
        if (!connection->greeted || connection->closing() || connection->name != name) {
            continue;
        }
        if (epoch != 0 ? connection->epoch == epoch : (!found || connection->epoch < found->epoch)) {
            found = connection;
        }
    }
    return found;
}

void AppRouter::deliver_to_connection(const std::shared_ptr<appsock::AppConnection>& connection,
                                      const std::string& host,
                                      const wire::App& app) {
    auto frame = wire::app_frame(app);
    if (!frame) {
        return;
    }
    frame->peer = host;
    // A message a slow application cannot take now is dropped: the host's
    // client sends it again until acknowledged.
    if (connection->send(*frame)) {
        metrics_.app_from_hosts.fetch_add(1);
    } else {
        metrics_.app_messages_dropped.fetch_add(1);
    }
}

void AppRouter::undeliverable_to_app(const std::string& host, const wire::App& app, std::string reason) {
    if (app.kind != "message") {
        return;  // an ack with nowhere to go: the host's stream repeats its message
    }
    metrics_.app_undeliverable.fetch_add(1);
    if (auto connection = connection_named(app.app, static_cast<std::uint64_t>(app.epoch))) {
        connection->send(undeliverable_frame(host,
                                             static_cast<std::uint64_t>(app.epoch),
                                             static_cast<std::uint64_t>(app.sequence),
                                             std::move(reason)));
    }
}

wire::App AppRouter::undeliverable_answer(const wire::App& message, std::string reason) {
    wire::App answer;
    answer.kind = "undeliverable";
    answer.app = message.app;
    answer.epoch = message.epoch;
    answer.sequence = message.sequence;
    answer.payload = std::move(reason);
    return answer;
}

void AppRouter::undeliverable_to_host(const std::string& host, const wire::App& app, std::string reason) {
    if (app.kind != "message") {
        return;  // an ack with nowhere to go: the application's stream repeats its message
    }
    auto session = session_of(host);
    if (!session) {
        return;  // the host left too: its client sends the message again wherever it is
    }
    auto answer = undeliverable_answer(app, std::move(reason));
    metrics_.app_undeliverable.fetch_add(1);
    session->send_app(std::move(answer));
}

bool AppRouter::ready(appsock::AppConnection& connection) {
    return held_.find(connection.id()) == held_.end();
}

void AppRouter::hold(std::uint64_t from, const std::string& host, wire::App app) {
    held_[from].push_back(Held{host, std::move(app)});
}

void AppRouter::on_room() {
    asio::post(executor_, [self = shared_from_this()] { self->retry_held(); });
}

void AppRouter::retry_held() {
    for (auto it = held_.begin(); it != held_.end();) {
        const std::uint64_t id = it->first;
        auto& frames = it->second;
        while (!frames.empty() && to_host(id, frames.front().host, frames.front().app)) {
            frames.pop_front();
        }
        if (!frames.empty()) {
            ++it;
            continue;
        }
        it = held_.erase(it);
        if (auto connection = connections_.find(id); connection != connections_.end()) {
            connection->second->resume();
        }
    }
}

void AppRouter::on_frame(appsock::AppConnection& connection, client::Frame frame) {
    if (!connection.greeted) {
        if (appsock::greet(connection, frame, server_name_)) {
            spdlog::info("app socket: application '{}' connected", frame.peer);
            record_application(connection, true);
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
    const auto id = connection.id();
    if (held_.find(id) != held_.end() || !to_host(id, host, *app)) {
        hold(id, host, std::move(*app));  // behind what waits already: in order
    }
}

void AppRouter::on_closed(appsock::AppConnection& connection, const std::string& reason) {
    if (connection.greeted) {
        spdlog::info("app socket: application '{}' disconnected: {}", connection.name, reason);
        record_application(connection, false);
    }
    held_.erase(connection.id());
    connections_.erase(connection.id());
}

void AppRouter::record_application(const appsock::AppConnection& connection, bool connected) {
    if (!links_) {
        return;  // no other server can send here
    }
    store::ApplicationRecord record{
        server_name_, connection.name, static_cast<std::int64_t>(connection.epoch), util::unix_now()};
    // Written in order on the store's one thread; a failure leaves the
    // application unknown to the other servers until it reconnects, so say so.
    state_.store.post([record = std::move(record), connected](store::Store* store) {
        if (store == nullptr) {
            return;
        }
        try {
            if (connected) {
                store->add_application(record);
            } else {
                store->remove_application(record.server, record.name, record.epoch);
            }
        } catch (const std::exception& e) {
            spdlog::warn("app socket: cannot record application '{}' {} in the store: {}",
                         record.name,
                         connected ? "connected" : "disconnected",
                         e.what());
        }
    });
}

std::size_t AppRouter::applications() const {
    return static_cast<std::size_t>(std::count_if(
        connections_.begin(), connections_.end(), [](const auto& entry) { return entry.second->greeted; }));
}

}  // namespace agentlb::mgmt
