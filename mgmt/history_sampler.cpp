#include "mgmt/history_sampler.hpp"

#include "common/store/store.hpp"
#include "mgmt/event_log.hpp"
#include "mgmt/shared_state.hpp"
#include "mgmt/tick_loop.hpp"

#include <boost/asio/post.hpp>

#include <chrono>

namespace agentlb::mgmt {

namespace asio = boost::asio;

HistorySample take_sample(SharedState& state, std::int64_t time_ms) {
    auto servers = state.servers();
    if (servers.empty()) {
        servers = state.snapshot()->servers;  // before the first liveness check
    }
    HistorySample sample;
    sample.time_ms = time_ms;
    for (const auto& server : servers) {
        const bool down = server.state == store::kServerDown;
        sample.servers[server.name] = {down ? 0 : server.agents, server.state};
    }
    auto& own = sample.servers[state.options.name];
    own.agents = static_cast<std::int64_t>(state.registry.host_count());
    if (own.state.empty()) {
        own.state = std::string(store::kServerUp);
    }
    return sample;
}

HistorySampler::HistorySampler(asio::io_context& context, std::shared_ptr<SharedState> state)
    : context_(context), state_(std::move(state)), timer_(context) {}

void HistorySampler::start() {
    spawn_loop(context_, "history sampler loop", [self = shared_from_this()] { return self->loop(); });
}

void HistorySampler::stop() {
    asio::post(context_, [self = shared_from_this()] {
        self->stopped_ = true;
        self->timer_.cancel();
    });
}

asio::awaitable<void> HistorySampler::loop() {
    tick();  // the page has a point at once
    // Not `while (co_await ...)`: GCC 12 miscompiles a co_await in a loop condition.
    for (;;) {
        const bool go_on = co_await next_tick(timer_, state_->options.history_sample_period, stopped_);
        if (!go_on) {
            break;
        }
        tick();
    }
}

void HistorySampler::tick() {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    auto sample = take_sample(*state_, std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
    if (last_) {
        for (const auto& change : state_changes(*last_, sample)) {
            if (change.server == state_->options.name || change.from.empty()) {
                continue;  // its own changes come as hook events; a new row is no change
            }
            StatusEvent event;
            event.time = sample.time_ms / 1000;
            event.kind = "server." + change.to;
            event.peer = change.server;
            event.reason = "observed";
            event.detail = "was " + change.from;
            state_->events.add(std::move(event));
        }
    }
    state_->history.add(sample);
    last_ = std::move(sample);
}

}  // namespace agentlb::mgmt
