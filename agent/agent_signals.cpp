// Agent: signals (SIGTERM/SIGINT stop, SIGHUP reloads the properties file
// and the TLS files it names).

#include "agent/agent.hpp"
#include "agent/agent_internal.hpp"
#include "certs/inspect.hpp"
#include "common/util/rfc3339.hpp"

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
        auto refuse = [io](std::string reason) {
            asio::post(io, [reason = std::move(reason)] {
                spdlog::error("SIGHUP: cannot reload, keeping the previous settings: {}", reason);
            });
        };
        auto loaded = AgentStateFile::load(state_->path());
        if (!loaded) {
            refuse(loaded.error());
            return;
        }
        // The tls.* keys may name other files: all or nothing, so that a
        // typo never leaves the agent without a usable key and certificate.
        auto settings = loaded->settings();
        auto credentials = load_credentials(settings);
        if (!credentials) {
            refuse(credentials.error());
            return;
        }
        auto context = detail::client_context_for(*credentials);
        if (!context) {
            refuse(context.error());
            return;
        }
        *state_ = std::move(*loaded);
        asio::post(io,
                   [this,
                    settings = std::move(settings),
                    credentials = std::make_shared<Credentials>(std::move(*credentials)),
                    context = std::move(context).value()]() mutable {
                       // Sessions already open keep theirs; the next connection uses these.
                       credentials_ = std::move(*credentials);
                       client_context_ = std::move(context);
                       spdlog::info(
                           "SIGHUP: TLS files reloaded: certificate serial {} valid until {}",
                           certs::serial_of(credentials_.certificate.get()),
                           util::format_rfc3339(certs::not_after_of(credentials_.certificate.get())));
                       apply_settings(std::move(settings), "reloaded after SIGHUP");
                   });
    });
}

void Agent::apply_settings(AgentSettings settings, const std::string& why) {
    settings_ = std::move(settings);
    policy_from_settings();
    spdlog::info("{}: servers {}, check interval {} s",
                 why,
                 detail::describe_list(settings_.hosts, settings_.algorithm),
                 settings_.check_interval);
    after_list_change();
}

}  // namespace agentlb::agent
