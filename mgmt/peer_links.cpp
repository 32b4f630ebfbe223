#include "mgmt/peer_links.hpp"

#include "common/util/exception_text.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <vector>

namespace agentlb::mgmt {

namespace asio = boost::asio;
using boost::system::error_code;

PeerLinks::PeerLinks(asio::any_io_executor executor, TlsContexts& tls, Metrics& metrics)
    : executor_(std::move(executor)), tls_(tls), metrics_(metrics) {}

void PeerLinks::set_handlers(OnRelay on_relay, OnDialledClosed on_dialled_closed, OnRoom on_room) {
    on_relay_ = std::move(on_relay);
    on_dialled_closed_ = std::move(on_dialled_closed);
    on_room_ = std::move(on_room);
}

void PeerLinks::listen(const asio::ip::tcp::endpoint& endpoint) {
    asio::ip::tcp::acceptor acceptor(executor_);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen();
    acceptor_.emplace(std::move(acceptor));
}

void PeerLinks::start() {
    if (!acceptor_) {
        return;
    }
    asio::co_spawn(
        executor_,
        [self = shared_from_this()] { return self->accept_loop(); },
        [](std::exception_ptr ep) {
            if (auto text = util::exception_text(ep)) {
                spdlog::error("peer link: accepting ended by an exception: {}", *text);
            }
        });
}

std::optional<asio::ip::tcp::endpoint> PeerLinks::local_endpoint() const {
    if (!acceptor_) {
        return std::nullopt;
    }
    error_code ec;
    auto endpoint = acceptor_->local_endpoint(ec);
    if (ec) {
        return std::nullopt;
    }
    return endpoint;
}

asio::awaitable<void> PeerLinks::accept_loop() {
    auto self = shared_from_this();
    while (!stopped_) {
        error_code ec;
        auto socket = co_await acceptor_->async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (stopped_) {
            break;
        }
        if (ec) {
            spdlog::warn("peer link: accept failed: {}", ec.message());
            continue;
        }
        auto current = tls_.current();
        const std::uint64_t id = next_id_++;
        auto link = std::make_shared<PeerLink>(std::move(socket), current->peer_server.get(), *this, id);
        accepted_.emplace(id, link);
        metrics_.peer_links.fetch_add(1);
        link->start();
    }
}

bool PeerLinks::send_to(const std::string& server, const std::string& address, const wire::Relay& relay) {
    if (stopped_) {
        return false;
    }
    auto it = dialled_.find(server);
    if (it != dialled_.end() && it->second->address() != address) {
        // The server moved: a link to its old address would not reach it.
        auto stale = it->second;
        stale->close("the server's peer address is now " + address);
        it = dialled_.find(server);
    }
    if (it == dialled_.end()) {
        auto current = tls_.current();
        auto link = std::make_shared<PeerLink>(
            executor_, current->peer_client.get(), server, address, *this, next_id_++);
        it = dialled_.emplace(server, link).first;
        metrics_.peer_links.fetch_add(1);
        link->start();
    }
    if (!it->second->send(relay)) {
        return false;
    }
    metrics_.peer_relays_sent.fetch_add(1);
    return true;
}

void PeerLinks::stop() {
    stopped_ = true;
    if (acceptor_) {
        error_code ignored;
        acceptor_->close(ignored);
    }
    std::vector<std::shared_ptr<PeerLink>> links;
    for (auto& [server, link] : dialled_) {
        links.push_back(link);
    }
    for (auto& [id, link] : accepted_) {
        links.push_back(link);
    }
    for (auto& link : links) {
        link->close("the server stops");
    }
}

void PeerLinks::on_relay(const std::shared_ptr<PeerLink>& link, wire::Relay relay) {
    metrics_.peer_relays_received.fetch_add(1);
    if (on_relay_) {
        on_relay_(link, std::move(relay));
    }
}

void PeerLinks::on_link_room(PeerLink& /*link*/) {
    if (on_room_) {
        on_room_();
    }
}

void PeerLinks::on_link_closed(PeerLink& link, const std::string& reason) {
    metrics_.peer_links.fetch_sub(1);
    const std::string who = link.server().empty() ? "an unidentified server" : "server " + link.server();
    if (!link.dialled()) {
        spdlog::info("peer link from {} closed: {}", who, reason);
        accepted_.erase(link.id());
        return;
    }
    spdlog::info("peer link to {} at {} closed: {}", who, link.address(), reason);
    auto it = dialled_.find(link.server());
    if (it != dialled_.end() && it->second.get() == &link) {
        dialled_.erase(it);
    }
    if (on_dialled_closed_ && !stopped_) {
        on_dialled_closed_(link.server());
    }
}

}  // namespace agentlb::mgmt
