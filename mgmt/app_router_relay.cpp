// The AppRouter's routes between servers (issue 19): where a host or an
// application is, read from the store and cached, and the relays over the
// peer link (app_router.hpp says the rules).

#include "common/store/store.hpp"
#include "common/util/exception_text.hpp"
#include "mgmt/agent_session.hpp"
#include "mgmt/app_router.hpp"
#include "mgmt/peer_links.hpp"
#include "mgmt/shared_state.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace agentlb::mgmt {

namespace asio = boost::asio;

namespace {

// Names in reasons are a host's and an application's: printable ASCII
// already (client::name_problem), so they are shown as they are.
std::string in_quotes(const std::string& name) {
    return "'" + name + "'";
}

// The peer link of `server` among `servers`, or "" with why not.
std::string peer_address_in(const std::vector<store::ServerRecord>& servers,
                            const std::string& server,
                            std::string& why_not) {
    for (const auto& record : servers) {
        if (record.name != server) {
            continue;
        }
        if (record.state == store::kServerDown) {
            why_not = "which is down";
            return "";
        }
        if (record.peer_address.empty()) {
            why_not = "which has no --peer-listen";
            return "";
        }
        return record.peer_address;
    }
    why_not = "which is not registered";
    return "";
}

// Caches are dropped whole past this size: a place is cheap to read again.
constexpr std::size_t kMaxCachedPlaces = 100'000;

}  // namespace

namespace {

// Hands `app` to a session that has room, or asks it to say when it has.
bool hand_to_session(AgentSession& session, wire::App& app, Metrics& metrics) {
    if (!session.app_room() && !session.want_app_room()) {
        return false;
    }
    metrics.app_to_hosts.fetch_add(1);
    session.send_app(std::move(app));
    return true;
}

}  // namespace

bool AppRouter::to_host(std::uint64_t from, const std::string& host, wire::App& app) {
    if (auto session = session_of(host)) {
        return hand_to_session(*session, app, metrics_);
    }
    if (!links_) {
        undeliverable_to_app(host,
                             app,
                             "host " + in_quotes(host) + " has no session with an app socket on server " +
                                 server_name_ + ", which has no --peer-listen to reach the others");
        return true;
    }
    auto it = host_places_.find(host);
    if (it != host_places_.end() && Clock::now() - it->second.at < kHostPlaceTtl) {
        return to_host_elsewhere(host, app, it->second);
    }
    with_host_place(host, [self = shared_from_this(), from, host, app](const HostPlace& place) mutable {
        if (!self->to_host_elsewhere(host, app, place)) {
            self->hold(from, host, std::move(app));
        }
    });
    return true;
}

bool AppRouter::to_host_elsewhere(const std::string& host, wire::App& app, const HostPlace& place) {
    if (auto session = session_of(host)) {  // it arrived here meanwhile
        return hand_to_session(*session, app, metrics_);
    }
    if (place.server.empty()) {
        undeliverable_to_app(host, app, place.reason);
        return true;
    }
    if (place.server == server_name_) {
        undeliverable_to_app(
            host,
            app,
            "host " + in_quotes(host) + " has no session with an app socket on server " + server_name_);
        return true;
    }
    if (place.address.empty()) {
        undeliverable_to_app(host, app, place.reason);
        return true;
    }
    return links_->send_to(
        place.server, place.address, wire::Relay{std::string(wire::Relay::kToHost), host, app});
}

void AppRouter::to_app(const std::string& host, wire::App app) {
    const std::string name = app.app;
    if (!links_) {
        // No other server's applications are known: only one here can be the target.
        if (auto target = app_target(name, app)) {
            deliver_to_connection(target->here, host, app);
        } else {
            undeliverable_to_host(
                host, app, "no application " + in_quotes(name) + " is connected to server " + server_name_);
        }
        return;
    }
    to_app_elsewhere(host, std::move(app), false);
}

void AppRouter::to_app_elsewhere(const std::string& host, wire::App app, bool read_again) {
    const std::string name = app.app;
    with_app_places(name, [self = shared_from_this(), host, app = std::move(app), read_again] {
        auto target = self->app_target(app.app, app);
        if (!target && !read_again) {
            // The view may predate that application's arrival (a connection
            // a moment old, its record just written): read it again, once.
            self->app_places_.erase(app.app);
            self->to_app_elsewhere(host, app, true);
            return;
        }
        if (!target) {
            self->undeliverable_to_host(
                host, app, "no application " + in_quotes(app.app) + " is connected to any server");
        } else if (target->here) {
            self->deliver_to_connection(target->here, host, app);
        } else if (!self->links_->send_to(target->server,
                                          target->address,
                                          wire::Relay{std::string(wire::Relay::kToApp), host, app})) {
            self->metrics_.app_messages_dropped.fetch_add(1);  // a full link: the host's stream repeats it
        }
    });
}

std::optional<AppRouter::AppTarget> AppRouter::app_target(const std::string& name,
                                                          const wire::App& app) const {
    const auto places = app_places_.find(name);
    const std::vector<store::ApplicationRecord> none;
    const auto& elsewhere = places != app_places_.end() ? places->second.elsewhere : none;  // by epoch
    if (app.kind == "ack") {
        const auto epoch = static_cast<std::uint64_t>(app.epoch);
        if (auto here = connection_named(name, epoch)) {
            return AppTarget{here, {}, {}};
        }
        for (const auto& record : elsewhere) {
            if (static_cast<std::uint64_t>(record.epoch) == epoch) {
                return AppTarget{nullptr, record.server, places->second.addresses.at(record.server)};
            }
        }
        return std::nullopt;
    }
    // A message: the connection whose client started first, here or elsewhere.
    auto here = connection_named(name, 0);
    if (here && (elsewhere.empty() || here->epoch <= static_cast<std::uint64_t>(elsewhere.front().epoch))) {
        return AppTarget{here, {}, {}};
    }
    if (!elsewhere.empty()) {
        return AppTarget{
            nullptr, elsewhere.front().server, places->second.addresses.at(elsewhere.front().server)};
    }
    return std::nullopt;
}

void AppRouter::on_relay(const std::shared_ptr<PeerLink>& link, wire::Relay relay) {
    const std::string& host = relay.host;
    wire::App& app = relay.app;
    if (relay.to == wire::Relay::kToHost) {
        if (app.kind == "undeliverable") {
            app_places_.erase(app.app);  // the application was not where the cache said
        }
        if (auto session = session_of(host)) {
            // A full session drops it: the sender's stream sends it again.
            if (!hand_to_session(*session, app, metrics_)) {
                metrics_.app_messages_dropped.fetch_add(1);
            }
        } else if (app.kind == "message") {
            metrics_.app_undeliverable.fetch_add(1);
            link->send(wire::Relay{
                std::string(wire::Relay::kToApp),
                host,
                undeliverable_answer(app,
                                     "host " + in_quotes(host) +
                                         " has no session with an app socket on server " + server_name_)});
        }
        return;
    }
    if (app.kind == "undeliverable") {
        host_places_.erase(host);  // the host was not where the cache said
    }
    const bool to_stream = app.kind != "message";  // an ack or an undeliverable: its stream's connection
    auto connection = connection_named(app.app, to_stream ? static_cast<std::uint64_t>(app.epoch) : 0);
    if (connection) {
        deliver_to_connection(connection, host, app);
    } else if (app.kind == "message") {
        metrics_.app_undeliverable.fetch_add(1);
        link->send(wire::Relay{
            std::string(wire::Relay::kToHost),
            host,
            undeliverable_answer(
                app, "no application " + in_quotes(app.app) + " is connected to server " + server_name_)});
    }
}

void AppRouter::on_dialled_closed(const std::string& server) {
    std::erase_if(host_places_, [&](const auto& entry) { return entry.second.server == server; });
    app_places_.clear();
}

void AppRouter::with_host_place(const std::string& host, std::function<void(const HostPlace&)> then) {
    auto it = host_places_.find(host);
    if (it != host_places_.end() && Clock::now() - it->second.at < kHostPlaceTtl) {
        then(it->second);
        return;
    }
    auto& waiting = waiting_for_hosts_[host];
    if (waiting.size() >= kMaxWaiting) {
        metrics_.app_messages_dropped.fetch_add(1);
        return;
    }
    waiting.push_back(std::move(then));
    if (waiting.size() == 1) {
        asio::co_spawn(executor_, look_up_host(host), asio::detached);
    }
}

asio::awaitable<void> AppRouter::look_up_host(std::string host) {
    auto self = shared_from_this();
    HostPlace place;
    bool keep = true;
    try {
        // Named, not a temporary inside co_await (GCC PR 100611).
        auto job = [host](store::Store& store) {
            return std::make_pair(store.find_host(host), store.list_servers());
        };
        auto [record, servers] = co_await state_.store.call(std::move(job));
        if (!record) {
            place.reason = "host " + in_quotes(host) + " is unknown";
        } else if (!record->connected_to || record->connected_to->empty()) {
            place.reason = "host " + in_quotes(host) + " is not connected to any server";
        } else {
            place.server = *record->connected_to;
            std::string why_not;
            place.address = peer_address_in(servers, place.server, why_not);
            if (place.address.empty()) {
                place.reason = "host " + in_quotes(host) + " is on server " + place.server + ", " + why_not;
            }
        }
    } catch (const std::exception& e) {
        place.reason = "the store cannot say where host " + in_quotes(host) + " is: " + e.what();
        keep = false;
    }
    place.at = Clock::now();
    // Only a server to relay to is remembered: "nowhere", "here" or "not
    // reachable" may change at the host's next connection (a host between
    // two servers, an agent restarting), so the next message reads again.
    if (keep && !place.address.empty()) {
        if (host_places_.size() >= kMaxCachedPlaces) {
            host_places_.clear();
        }
        host_places_[host] = place;
    }
    auto waiting = std::move(waiting_for_hosts_[host]);
    waiting_for_hosts_.erase(host);
    for (auto& then : waiting) {
        then(place);
    }
}

void AppRouter::with_app_places(const std::string& name, std::function<void()> then) {
    auto it = app_places_.find(name);
    if (it != app_places_.end() && Clock::now() - it->second.at < kAppPlacesTtl) {
        then();
        return;
    }
    auto& waiting = waiting_for_apps_[name];
    if (waiting.size() >= kMaxWaiting) {
        metrics_.app_messages_dropped.fetch_add(1);
        return;
    }
    waiting.push_back(std::move(then));
    if (waiting.size() == 1) {
        asio::co_spawn(executor_, look_up_app(name), asio::detached);
    }
}

asio::awaitable<void> AppRouter::look_up_app(std::string name) {
    auto self = shared_from_this();
    AppPlaces places;
    try {
        auto job = [name](store::Store& store) {
            return std::make_pair(store.applications_named(name), store.list_servers());
        };
        auto [records, servers] = co_await state_.store.call(std::move(job));
        for (auto& record : records) {
            std::string why_not;
            const auto address = peer_address_in(servers, record.server, why_not);
            if (record.server != server_name_ && !address.empty()) {
                places.addresses[record.server] = address;
                places.elsewhere.push_back(std::move(record));
            }
        }
        places.at = Clock::now();
        if (app_places_.size() >= kMaxCachedPlaces) {
            app_places_.clear();
        }
        app_places_[name] = places;
    } catch (const std::exception& e) {
        spdlog::warn(
            "app socket: cannot read where application {} is connected: {}", in_quotes(name), e.what());
    }
    auto waiting = std::move(waiting_for_apps_[name]);
    waiting_for_apps_.erase(name);
    for (auto& then : waiting) {
        then();
    }
}

}  // namespace agentlb::mgmt
