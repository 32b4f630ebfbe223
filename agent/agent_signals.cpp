// Agent: signals (SIGTERM/SIGINT stop, SIGHUP reloads the properties file).

#include "agent/agent.hpp"
#include "agent/agent_internal.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <csignal>

namespace agentlb::agent {

namespace asio = boost::asio;
using boost::system::error_code;

asio::awaitable<void> Agent::signal_loop() {
    while (!stopping_) {
        error_code ec;
        auto token = asio::redirect_error(asio::use_awaitable, ec);
        const int signal = co_await signals_.async_wait(token);
        if (ec) {
            co_return;
        }
        if (signal == SIGHUP) {
            reload();
        } else {
            stop(kExitOk, signal == SIGTERM ? "SIGTERM" : "SIGINT");
        }
    }
}

void Agent::reload() {
    if (!running_) {
        spdlog::warn("SIGHUP before start-up finished: ignored");
        return;
    }
    auto io = io_.get_executor();
    worker_.post(io, [this, io] {
        auto loaded = AgentStateFile::load(state_->path());
        if (!loaded) {
            asio::post(io, [reason = loaded.error()] {
                spdlog::error("SIGHUP: cannot reload, keeping the previous settings: {}", reason);
            });
            return;
        }
        *state_ = std::move(*loaded);
        asio::post(io, [this, settings = state_->settings()]() mutable {
            apply_settings(std::move(settings), "reloaded after SIGHUP");
        });
    });
}

void Agent::apply_settings(AgentSettings settings, const std::string& why) {
    settings_ = std::move(settings);
    policy_.set_hosts(settings_.hosts);
    spdlog::info("{}: servers {}, check interval {} s",
                 why,
                 detail::describe_list(settings_.hosts, settings_.algorithm),
                 settings_.check_interval);
    after_list_change();
}

}  // namespace agentlb::agent
