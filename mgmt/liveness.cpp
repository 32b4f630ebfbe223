#include "mgmt/liveness.hpp"

#include "common/util/exception_text.hpp"
#include "mgmt/shared_state.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

namespace agentlb::mgmt {

namespace asio = boost::asio;

namespace {

constexpr std::chrono::seconds kCheckPeriod{1};

void log_end(std::exception_ptr e) {
    if (auto text = util::exception_text(e)) {
        spdlog::critical("liveness loop ended: {}", *text);
    }
}

struct Transition {
    std::string name;
    std::string what;
};

}  // namespace

Liveness::Liveness(asio::io_context& context, std::shared_ptr<SharedState> state)
    : context_(context), state_(std::move(state)), heartbeat_timer_(context), check_timer_(context) {}

void Liveness::start() {
    auto self = shared_from_this();
    asio::co_spawn(
        context_, [self] { return self->heartbeat_loop(); }, log_end);
    asio::co_spawn(
        context_, [self] { return self->check_loop(); }, log_end);
}

void Liveness::stop() {
    asio::post(context_, [self = shared_from_this()] {
        self->stopped_ = true;
        self->heartbeat_timer_.cancel();
        self->check_timer_.cancel();
    });
}

asio::awaitable<void> Liveness::heartbeat_loop() {
    while (!stopped_) {
        heartbeat_timer_.expires_after(state_->options.server_heartbeat_interval);
        boost::system::error_code ec;
        co_await heartbeat_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (stopped_) {
            break;
        }
        const auto agents = static_cast<std::int64_t>(state_->registry.host_count());
        auto job = [state = state_, agents](store::Store& store) {
            store.heartbeat_server(state->options.name, unix_now(), agents);
        };
        try {
            co_await state_->store.call(std::move(job));
        } catch (const std::exception& e) {
            spdlog::error("cannot write this server's heartbeat: {}", e.what());
        }
    }
}

asio::awaitable<void> Liveness::check_loop() {
    while (!stopped_) {
        check_timer_.expires_after(std::min<std::chrono::steady_clock::duration>(
            kCheckPeriod, state_->options.server_heartbeat_interval));
        boost::system::error_code ec;
        co_await check_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (stopped_) {
            break;
        }
        auto job = [state = state_](store::Store& store) {
            std::vector<Transition> transitions;
            const auto now = unix_now();
            const auto interval = state->options.server_heartbeat_interval.count();
            bool self_seen = false;
            for (const auto& server : store.list_servers()) {
                if (server.name == state->options.name) {
                    self_seen = true;
                    if (server.state != store::kServerUp && !state->stopping.load()) {
                        store.set_server_state(server.name, store::kServerUp);
                        transitions.push_back({server.name, "was marked down while alive; marked up again"});
                    }
                    continue;
                }
                if (server.state == store::kServerUp &&
                    heartbeat_expired(server.last_heartbeat, now, interval, kMissedHeartbeatsBeforeDead)) {
                    store.set_server_state(server.name, store::kServerDown);
                    store.clear_connected_for_server(server.name);
                    transitions.push_back({server.name,
                                           "is down: last heartbeat " +
                                               std::to_string(now - server.last_heartbeat) + " s ago"});
                }
            }
            if (!self_seen && !state->stopping.load()) {
                // Our row was deleted (by hand?): register again.
                store.register_server(state->options.name, state->advertise, now);
                transitions.push_back({state->options.name, "row was missing; registered again"});
            }
            state->set_servers(store.list_servers());
            return transitions;
        };
        try {
            const auto transitions = co_await state_->store.call(std::move(job));
            for (const auto& t : transitions) {
                spdlog::warn("management server {} {}", t.name, t.what);
            }
        } catch (const std::exception& e) {
            spdlog::error("cannot check the other servers' heartbeats: {}", e.what());
        }
    }
}

}  // namespace agentlb::mgmt
