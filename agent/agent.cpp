// Agent: construction, start, stop and the shared sleep. The other parts of
// the class are in agent_*.cpp, one concern each.

#include "agent/agent.hpp"

#include "agent/agent_internal.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <csignal>

namespace agentlb::agent {

namespace asio = boost::asio;
using boost::system::error_code;
using std::chrono::milliseconds;

namespace {

// A deliberate stop waits this long for sessions to send close_notify.
constexpr std::chrono::seconds kStopGrace{3};

}  // namespace

Agent::Agent(asio::io_context& io, FileWorker& worker, AgentOptions options, AgentStateFile state)
    : io_(io),
      worker_(worker),
      options_(std::move(options)),
      state_(std::make_unique<AgentStateFile>(std::move(state))),
      settings_(state_->settings()),
      policy_(detail::backoff_from(options_.tuning)),
      random_(make_default_random()),
      timeouts_{options_.tuning.connect_timeout,
                options_.tuning.welcome_timeout,
                options_.tuning.heartbeat_interval},
      signals_(io, SIGINT, SIGTERM, SIGHUP),
      wake_(io),
      retry_timer_(io),
      preferred_timer_(io),
      renewal_timer_(io),
      metrics_timer_(io) {
    policy_from_settings();
}

Agent::~Agent() = default;

void Agent::policy_from_settings() {
    policy_.set_hosts(settings_.hosts);
    policy_.set_algorithm(settings_.algorithm);
}

void Agent::start() {
    asio::co_spawn(
        io_, signal_loop(), [](std::exception_ptr ep) { detail::log_exception(ep, "signal handling"); });
    if (options_.metrics_file) {
        asio::co_spawn(
            io_, metrics_loop(), [](std::exception_ptr ep) { detail::log_exception(ep, "metrics file"); });
    }
    asio::co_spawn(io_, run(), [this](std::exception_ptr ep) {
        if (ep) {
            detail::log_exception(ep, "main loop");
            stop(kExitFailure, "internal error");
        }
    });
}

void Agent::stop(int exit_code, const std::string& why) {
    if (stopping_) {
        return;
    }
    stopping_ = true;
    exit_code_ = exit_code;
    if (exit_code == kExitOk) {
        spdlog::info("stopping ({})", why);
    } else {
        spdlog::error("{}", why);
    }
    asio::co_spawn(io_, shutdown(), [](std::exception_ptr ep) { detail::log_exception(ep, "shutdown"); });
}

asio::awaitable<void> Agent::shutdown() {
    error_code ignored;
    signals_.cancel(ignored);
    wake_.cancel();
    retry_timer_.cancel();
    preferred_timer_.cancel();
    renewal_timer_.cancel();
    metrics_timer_.cancel();
    if (options_.metrics_file) {
        write_metrics(true);
    }
    if (app_link_) {
        app_link_->stop();
    }
    if (current_) {
        current_->close("agent stopping");
    }
    for (const auto& weak : retiring_) {
        if (auto old = weak.lock()) {
            old->close("agent stopping");
        }
    }
    // Give close_notify a moment, then end whatever is left (a dial in flight).
    asio::steady_timer poll(io_);
    const auto deadline = std::chrono::steady_clock::now() + kStopGrace;
    while (open_sessions_ > 0 && std::chrono::steady_clock::now() < deadline) {
        poll.expires_after(milliseconds(20));
        error_code ec;
        auto token = asio::redirect_error(asio::use_awaitable, ec);
        co_await poll.async_wait(token);
    }
    io_.stop();
}

asio::awaitable<bool> Agent::sleep(asio::steady_timer& timer, std::optional<milliseconds> duration) {
    if (duration) {
        timer.expires_after(*duration);
    } else {
        timer.expires_at(std::chrono::steady_clock::time_point::max());
    }
    error_code ec;
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    co_await timer.async_wait(token);
    co_return !ec;
}

}  // namespace agentlb::agent
