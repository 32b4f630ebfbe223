#include "mgmt/drain.hpp"

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

// A failed preparing -> maintenance write is tried again this often.
constexpr std::chrono::seconds kStateRetry{1};

std::int64_t seconds_since(DrainRule::Clock::time_point since, DrainRule::Clock::time_point now) {
    return std::chrono::duration_cast<std::chrono::seconds>(now - since).count();
}

}  // namespace

Drain::Drain(asio::io_context& context, std::shared_ptr<SharedState> state)
    : context_(context), state_(std::move(state)), timer_(context) {}

void Drain::start() {
    spawn_loop(context_, "drain loop", [self = shared_from_this()] { return self->loop(); });
}

void Drain::stop() {
    asio::post(context_, [self = shared_from_this()] {
        self->stopped_ = true;
        self->shutdown_done_ = nullptr;
        self->timer_.cancel();
    });
}

void Drain::begin_shutdown(std::int64_t timeout_seconds, ShutdownDone done) {
    shutdown_done_ = std::move(done);
    shutdown_timeout_ = timeout_seconds;
    rule_.begin_shutdown(Clock::now(), timeout_seconds);
    tick(Clock::now());
}

std::string Drain::refusal_text(const std::string& server, DrainRule::Why why) {
    if (why == DrainRule::Why::shutdown) {
        return "management server " + server + " is shutting down: try the next server";
    }
    return "management server " + server + " is in maintenance: try the next server";
}

DrainRule::Why Drain::hello_refusal(const SharedState& state) {
    if (static_cast<DrainRule::Why>(state.drain_why.load()) == DrainRule::Why::shutdown) {
        return DrainRule::Why::shutdown;
    }
    const auto snapshot = state.snapshot();
    const auto* own = find_server(*snapshot, state.options.name);
    return own != nullptr && own->maintenance ? DrainRule::Why::maintenance : DrainRule::Why::none;
}

std::string Drain::migrate_reason(const std::string& server, DrainRule::Why why) {
    return "management server " + server +
           (why == DrainRule::Why::shutdown ? " is shutting down" : " is going into maintenance") +
           "; connect to another server";
}

asio::awaitable<void> Drain::loop() {
    for (;;) {
        const bool go_on = co_await next_tick(timer_, kMigrationTick, stopped_);
        if (!go_on) {
            break;
        }
        tick(Clock::now());
    }
}

void Drain::tick(Clock::time_point now) {
    const auto snapshot = state_->snapshot();
    const auto* own = find_server(*snapshot, state_->options.name);
    if (own != nullptr) {
        state_->metrics.set_server_state(own->state);
    }
    const bool requested = own != nullptr && own->maintenance;
    const auto step =
        rule_.judge(requested, state_->registry.session_count(), now, snapshot->maintenance_timeout);
    on_step(step, now);
    if (rule_.phase() == DrainRule::Phase::draining) {
        migrate_some(now);
    }
    // Reached but not written (the store did not answer, or a rejoin put
    // the row back to preparing): write it again.
    if (rule_.phase() == DrainRule::Phase::drained && rule_.why() == DrainRule::Why::maintenance &&
        own != nullptr && own->state == store::kServerPreparing && !state_write_pending_ &&
        now >= next_state_write_) {
        reach_maintenance();
    }
}

void Drain::on_step(DrainRule::Step step, Clock::time_point now) {
    const auto snapshot = state_->snapshot();
    const auto sessions = state_->registry.session_count();
    const bool shutdown = rule_.why() == DrainRule::Why::shutdown;
    switch (step) {
        case DrainRule::Step::none:
            return;
        case DrainRule::Step::start:
            state_->drain_why.store(static_cast<std::uint8_t>(rule_.why()));
            pacer_.restart(now);
            budget_.reset();
            if (shutdown) {
                spdlog::info(
                    "shutdown drain: this server refuses new agents and moves its {} agents to other servers "
                    "(at most {} a second) for at most {} s (agentlb.shutdown.timeout); a second SIGTERM or "
                    "SIGINT stops at once",
                    sessions,
                    snapshot->drain_rate,
                    shutdown_timeout_);
            } else {
                spdlog::info(
                    "maintenance requested: this server refuses new agents and moves its {} agents to other "
                    "servers (at most {} a second; agentlb.maintenance.timeout {} s)",
                    sessions,
                    snapshot->drain_rate,
                    snapshot->maintenance_timeout);
            }
            return;
        case DrainRule::Step::cancel:
            state_->drain_why.store(static_cast<std::uint8_t>(DrainRule::Why::none));
            spdlog::info("maintenance cancelled: this server takes agents again ({} still here)", sessions);
            return;
        case DrainRule::Step::drained:
            if (shutdown) {
                spdlog::info("shutdown drain done: no agent left after {} s",
                             seconds_since(rule_.since(), now));
                finish_shutdown(false);
            } else {
                spdlog::info(
                    "maintenance drain done: no agent left after {} s; this server is in maintenance",
                    seconds_since(rule_.since(), now));
                reach_maintenance();
            }
            return;
        case DrainRule::Step::timed_out:
            if (shutdown) {
                spdlog::warn(
                    "shutdown drain timed out: {} agents still here after {} s (agentlb.shutdown.timeout); "
                    "stopping now",
                    sessions,
                    shutdown_timeout_);
                finish_shutdown(true);
            } else {
                spdlog::warn(
                    "maintenance drain timed out: {} agents still here after {} s "
                    "(agentlb.maintenance.timeout): their sessions are ended; this server is in maintenance",
                    sessions,
                    snapshot->maintenance_timeout);
                end_sessions(snapshot->maintenance_timeout);
                reach_maintenance();
            }
            return;
    }
}

void Drain::migrate_some(Clock::time_point now) {
    const auto snapshot = state_->snapshot();
    const auto budget = budget_.take(snapshot->drain_rate);
    const auto batch = pacer_.next(now, budget, [this] { return state_->registry.sessions(); });
    if (batch.empty()) {
        return;
    }
    const bool shutdown = rule_.why() == DrainRule::Why::shutdown;
    const auto reason = migrate_reason(state_->options.name, rule_.why());
    for (const auto& session : batch) {
        session->migrate(reason, {state_->advertise});
    }
    state_->metrics.count_migrations(shutdown ? MigrationReason::shutdown : MigrationReason::maintenance,
                                     batch.size());
}

void Drain::end_sessions(std::int64_t timeout_seconds) {
    const std::string text = "maintenance timeout: management server " + state_->options.name +
                             " ends this session after " + std::to_string(timeout_seconds) +
                             " s (agentlb.maintenance.timeout); try the next server";
    for (const auto& session : state_->registry.sessions()) {
        session->end_draining(text);
    }
}

void Drain::reach_maintenance() {
    state_write_pending_ = true;
    auto self = shared_from_this();
    auto write = [self]() -> asio::awaitable<void> {
        auto job = [name = self->state_->options.name](store::Store& store) {
            return store.compare_and_set_server_state(
                name, store::kServerPreparing, store::kServerMaintenance);
        };
        try {
            const bool changed = co_await self->state_->store.call(std::move(job));
            self->state_write_failed_ = false;
            if (changed) {
                spdlog::info("state of management server {}: preparing -> maintenance",
                             self->state_->options.name);
            } else {
                spdlog::debug("state of management server {} was not preparing: left as it is",
                              self->state_->options.name);
            }
        } catch (const std::exception& e) {
            // Once, not every second while the store is away.
            spdlog::log(self->state_write_failed_ ? spdlog::level::debug : spdlog::level::err,
                        "cannot set this server's state to maintenance (retrying every second): {}",
                        e.what());
            self->state_write_failed_ = true;
        }
        self->state_write_pending_ = false;
        self->next_state_write_ = Clock::now() + kStateRetry;
    };
    asio::co_spawn(context_, std::move(write), [](std::exception_ptr e) {
        if (auto text = util::exception_text(e)) {
            spdlog::error("cannot set this server's state to maintenance: {}", *text);
        }
    });
}

void Drain::finish_shutdown(bool timed_out) {
    if (auto done = std::move(shutdown_done_)) {
        shutdown_done_ = nullptr;
        done(timed_out);
    }
}

}  // namespace agentlb::mgmt
