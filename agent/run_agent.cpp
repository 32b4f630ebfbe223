// The agent process: logging, the properties file, and the I/O loop.

#include "agent/agent.hpp"
#include "agent/metrics_file.hpp"
#include "agent/printable.hpp"

#include <boost/asio/io_context.hpp>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <filesystem>

namespace agentlb::agent {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

// A bad --metrics-file stops the agent at start, with the reason, rather than
// failing quietly at every write: the first file (not connected yet) is written
// here, which also proves the folder is writable. The path is made absolute so
// the log names it in full.
Status start_metrics_file(AgentOptions& options) {
    std::error_code ec;
    const fs::path given = *options.metrics_file;
    options.metrics_file = fs::absolute(given, ec);
    if (ec) {
        return fail("--metrics-file " + printable_path(given) + ": " + ec.message());
    }
    const fs::path& path = *options.metrics_file;
    if (fs::is_directory(path, ec)) {
        return fail("--metrics-file " + printable_path(path) + ": is a folder; give a file name such as " +
                    printable_path(path / "agentlb-agent.prom"));
    }
    if (const int removed = remove_stale_temp_files(path); removed > 0) {
        spdlog::info(
            "removed {} temporary file(s) left by an interrupted write of {}", removed, printable_path(path));
    }
    AgentFigures figures = figures_now();
    figures.list_changed_at = modified_unix_seconds(options.config_path);
    if (auto written = write_agent_metrics(path, figures); !written) {
        return fail("--metrics-file: " + written.error());
    }
    if (path.extension() != ".prom") {
        spdlog::warn("--metrics-file {}: node_exporter's textfile collector reads only files ending in .prom",
                     printable_path(path));
    }
    return success();
}

}  // namespace

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

    if (resolved.metrics_file) {
        if (auto checked = start_metrics_file(resolved); !checked) {
            spdlog::error("{}", checked.error());
            return kExitUsage;
        }
    }

    asio::io_context io(1);
    FileWorker worker;
    const std::int64_t list_changed_at = modified_unix_seconds(resolved.config_path);
    Agent agent(io, worker, std::move(resolved), std::move(*state));
    agent.set_list_changed_at(list_changed_at);
    agent.start();
    io.run();
    // Writes already handed to the worker finish before the process exits.
    worker.stop();
    return agent.exit_code();
}

}  // namespace agentlb::agent
