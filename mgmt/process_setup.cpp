#include "mgmt/process_setup.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <sys/resource.h>

namespace agentlb::mgmt {

namespace asio = boost::asio;

void setup_logging(spdlog::level::level_enum level) {
    auto logger = spdlog::stderr_logger_mt("agentlb-mgmt");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
    logger->set_level(level);
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(logger);
}

void raise_file_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        return;
    }
    if (limit.rlim_cur < limit.rlim_max) {
        const auto soft = limit.rlim_cur;
        limit.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
            spdlog::warn("cannot raise the open-file limit from {} to {}", soft, limit.rlim_max);
            return;
        }
    }
    spdlog::debug("open-file limit: {}", limit.rlim_cur);
}

std::string endpoint_text(const asio::ip::tcp::endpoint& endpoint) {
    if (endpoint.address().is_v6()) {
        return "[" + endpoint.address().to_string() + "]:" + std::to_string(endpoint.port());
    }
    return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

}  // namespace agentlb::mgmt
