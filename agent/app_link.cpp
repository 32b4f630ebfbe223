#include "agent/app_link.hpp"

#include "common/util/exception_text.hpp"
#include "common/util/text.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace agentlb::agent {

namespace asio = boost::asio;
using boost::system::error_code;

AppLink::AppLink(asio::any_io_executor executor, std::function<std::string()> host_name)
    : executor_(std::move(executor)), host_name_(std::move(host_name)) {}

Result<bool> AppLink::open(const std::filesystem::path& path, const std::string& group) {
    auto acceptor = appsock::open_app_socket(executor_, path, group);
    if (!acceptor) {
        return fail(acceptor.error());
    }
    path_ = path;
    acceptor_.emplace(std::move(*acceptor));
    auto on_client = [this](appsock::Socket socket) {
        auto connection = std::make_shared<appsock::AppConnection>(std::move(socket), *this, next_id_++);
        waiting_.push_back(connection);
        connection->start();
    };
    asio::co_spawn(executor_, appsock::accept_clients(*acceptor_, path_, stopped_, on_client), [](std::exception_ptr ep) {
        if (auto text = util::exception_text(ep)) {
            spdlog::error("app socket: accepting ended by an exception: {}", *text);
        }
    });
    spdlog::info("app socket {} open (mode 0660{})", path.string(), group.empty() ? "" : ", group " + group);
    return true;
}

void AppLink::stop() {
    if (stopped_) {
        return;
    }
    stopped_ = true;
    if (acceptor_) {
        error_code ignored;
        acceptor_->close(ignored);
        std::error_code not_removed;  // gone already: nothing to do
        std::filesystem::remove(path_, not_removed);
    }
    if (client_) {
        client_->close("the agent stops");
    }
    for (auto& waiting : waiting_) {
        waiting->close("the agent stops");
    }
}

void AppLink::on_session(std::shared_ptr<ServerSession> session) {
    session_ = std::move(session);
    resume_client();
}

void AppLink::on_room() {
    resume_client();
}

void AppLink::resume_client() {
    if (client_) {
        client_->resume();
    }
}

void AppLink::on_app(const wire::App& app) {
    if (!client_) {
        spdlog::debug("app socket: no client connected, dropping an app {} (its sender sends it again)",
                      app.kind);
        return;
    }
    if (auto frame = wire::app_frame(app)) {
        client_->send(*frame);
    }
}

bool AppLink::ready(appsock::AppConnection& connection) {
    if (!connection.greeted) {
        return true;
    }
    return session_ && session_->app_ready();
}

void AppLink::on_frame(appsock::AppConnection& connection, client::Frame frame) {
    if (!connection.greeted) {
        if (client_) {
            connection.refuse("another client ('" + client_->name +
                              "') holds this host's app socket: one client per host");
            return;
        }
        if (appsock::greet(connection, frame, host_name_())) {
            std::erase_if(waiting_, [&](const auto& c) { return c.get() == &connection; });
            client_ = connection.shared_from_this();
            spdlog::info("app socket: client '{}' connected", frame.peer);
        }
        return;
    }
    if (!appsock::takes_stream_frame(connection, frame)) {
        return;
    }
    auto app = wire::app_message(frame);
    if (!app) {
        connection.refuse("epoch, sequence, floor and reply_to must be below 2^63");
        return;
    }
    session_->send_app(std::move(*app));
}

void AppLink::on_closed(appsock::AppConnection& connection, const std::string& reason) {
    std::erase_if(waiting_, [&](const auto& c) { return c.get() == &connection; });
    if (client_.get() == &connection) {
        spdlog::info("app socket: client '{}' disconnected: {}", connection.name, reason);
        client_.reset();
    } else {
        spdlog::info("app socket: a client was refused or left before hello: {}", reason);
    }
}

}  // namespace agentlb::agent
