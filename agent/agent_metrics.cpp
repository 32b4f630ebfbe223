// Agent: the --metrics-file for node_exporter's textfile collector. The
// figures are read on the I/O thread; the file is written by the file worker.

#include "agent/agent.hpp"
#include "agent/agent_internal.hpp"
#include "agent/metrics_file.hpp"
#include "agent/printable.hpp"
#include "certs/inspect.hpp"
#include "common/protocol/connection_policy.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace agentlb::agent {

namespace asio = boost::asio;

asio::awaitable<void> Agent::metrics_loop() {
    metrics_list_ = settings_.held_list();
    while (!stopping_) {
        write_metrics(false);
        co_await sleep(metrics_timer_, options_.tuning.metrics_file_interval);
    }
}

void Agent::metrics_changed() {
    metrics_timer_.cancel();
}

void Agent::write_metrics(bool final_write) {
    AgentFigures figures = figures_now();
    if (const std::string held = settings_.held_list(); held != metrics_list_) {
        metrics_list_ = held;
        list_changed_at_ = static_cast<std::int64_t>(figures.written_at);
    }
    figures.connected = current_ && !final_write;
    if (figures.connected) {
        figures.server = current_->entry();
        const auto& hosts = settings_.hosts;
        const auto found = std::find_if(hosts.begin(), hosts.end(), [this](const std::string& entry) {
            return protocol::same_server(entry, current_->entry());
        });
        figures.position = found == hosts.end() ? 0 : static_cast<int>(found - hosts.begin()) + 1;
    }
    figures.failovers = failovers_;
    figures.list_changed_at = list_changed_at_;
    if (credentials_.certificate) {
        figures.certificate_not_after = certs::not_after_of(credentials_.certificate.get());
    }

    worker_.post(io_.get_executor(), [this, path = *options_.metrics_file, figures] {
        // Said once per distinct failure, and once when writing works again.
        if (auto written = write_agent_metrics(path, figures); !written) {
            if (written.error() != metrics_error_) {
                metrics_error_ = written.error();
                spdlog::warn("--metrics-file: {}", metrics_error_);
            }
        } else if (!metrics_error_.empty()) {
            metrics_error_.clear();
            spdlog::info("--metrics-file: writing {} works again", printable_path(path));
        }
    });
}

}  // namespace agentlb::agent
