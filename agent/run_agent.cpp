// The agent process: logging, the properties file, and the I/O loop.

#include "agent/agent.hpp"
#include "agent/printable.hpp"

#include <boost/asio/io_context.hpp>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <filesystem>

namespace agentlb::agent {

namespace asio = boost::asio;
namespace fs = std::filesystem;

int run_agent(const AgentOptions& options) {
    auto logger = spdlog::stderr_logger_mt("agentlb-agent");
    spdlog::set_default_logger(logger);
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    spdlog::set_level(spdlog::level::from_str(options.log_level));

    std::error_code ec;
    AgentOptions resolved = options;
    resolved.config_path = fs::absolute(options.config_path, ec);
    if (ec) {
        spdlog::error("--config {}: {}", printable_path(options.config_path), ec.message());
        return kExitUsage;
    }
    if (const int removed = remove_stale_temp_files(resolved.config_path); removed > 0) {
        spdlog::info("removed {} temporary file(s) left by an interrupted write of {}",
                     removed,
                     printable_path(resolved.config_path));
    }
    auto state = AgentStateFile::load(resolved.config_path);
    if (!state) {
        spdlog::error("{}", state.error());
        return kExitUsage;
    }

    asio::io_context io(1);
    FileWorker worker;
    Agent agent(io, worker, std::move(resolved), std::move(*state));
    agent.start();
    io.run();
    // Writes already handed to the worker finish before the process exits.
    worker.stop();
    return agent.exit_code();
}

}  // namespace agentlb::agent
