#include "mgmt/store_outage.hpp"

#include "common/util/exception_text.hpp"
#include "mgmt/agent_session.hpp"
#include "mgmt/shared_state.hpp"
#include "mgmt/tick_loop.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

namespace agentlb::mgmt {

namespace asio = boost::asio;

namespace {

std::int64_t whole_seconds(std::chrono::steady_clock::duration d) {
    return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

}  // namespace

ServingJudge::Change ServingJudge::judge(std::optional<Clock::duration> unreachable_for,
                                         std::int64_t limit_seconds) {
    if (!serving_) {
        if (!unreachable_for) {
            serving_ = true;
            return Change::resume;
        }
        return Change::none;
    }
    if (unreachable_for && limit_seconds > 0 && *unreachable_for > std::chrono::seconds(limit_seconds)) {
        serving_ = false;
        return Change::stop;
    }
    return Change::none;
}

StoreOutage::StoreOutage(asio::io_context& context, std::shared_ptr<SharedState> state)
    : context_(context), state_(std::move(state)), timer_(context) {}

void StoreOutage::start() {
    spawn_loop(context_, "store outage loop", [self = shared_from_this()] { return self->loop(); });
}

void StoreOutage::stop() {
    asio::post(context_, [self = shared_from_this()] {
        self->stopped_ = true;
        self->timer_.cancel();
    });
}

asio::awaitable<void> StoreOutage::loop() {
    for (;;) {
        const bool go_on = co_await next_tick(timer_, kOutageTick, stopped_);
        if (!go_on) {
            break;
        }
        tick(ServingJudge::Clock::now());
    }
}

void StoreOutage::tick(ServingJudge::Clock::time_point now) {
    const auto unreachable_for = state_->store_health.unreachable_for(now);
    const auto limit = state_->snapshot()->store_unreachable_limit;
    switch (judge_.judge(unreachable_for, limit)) {
        case ServingJudge::Change::stop:
            state_->serving.store(false);
            state_->metrics.serving.store(0);
            spdlog::error(
                "the store has not answered for {} s (agentlb.store.unreachable.limit is {} s): this server "
                "stops serving: it moves its {} agents to other servers (at most {} a second) and refuses "
                "new ones until the store answers",
                whole_seconds(*unreachable_for),
                limit,
                state_->registry.host_count(),
                state_->snapshot()->drain_rate);
            pacer_.restart(now);
            budget_.reset();
            break;
        case ServingJudge::Change::resume:
            state_->serving.store(true);
            state_->metrics.serving.store(1);
            spdlog::warn("the store answers again: this server serves agents again");
            break;
        case ServingJudge::Change::none:
            break;
    }
    if (!judge_.serving()) {
        migrate_some(now);
    }
}

void StoreOutage::migrate_some(ServingJudge::Clock::time_point now) {
    const auto budget = budget_.take(state_->snapshot()->drain_rate);
    const auto batch = pacer_.next(now, budget, [this] { return state_->registry.sessions(); });
    if (batch.empty()) {
        return;
    }
    const auto lacking = state_->store_health.unreachable_for(now).value_or(ServingJudge::Clock::duration{});
    const std::string reason = "management server " + state_->options.name +
                               " has not reached its store for " + std::to_string(whole_seconds(lacking)) +
                               " s; connect to another server";
    for (const auto& session : batch) {
        session->migrate(reason, {state_->advertise});
    }
    state_->metrics.count_migrations(MigrationReason::store_outage, batch.size());
}

}  // namespace agentlb::mgmt
