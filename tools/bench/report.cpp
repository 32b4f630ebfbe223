#include "tools/bench/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace agentlb::bench {

namespace {

double rank(const std::vector<double>& sorted, double fraction) {
    const auto n = sorted.size();
    auto index = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(n)));
    index = std::clamp<std::size_t>(index, 1, n);
    return sorted[index - 1];
}

}  // namespace

Distribution distribution(std::vector<double>& samples) {
    Distribution d;
    if (samples.empty()) {
        return d;
    }
    std::sort(samples.begin(), samples.end());
    d.count = samples.size();
    d.min = samples.front();
    d.p50 = rank(samples, 0.50);
    d.p99 = rank(samples, 0.99);
    d.max = samples.back();
    return d;
}

nlohmann::json to_json(const Distribution& d) {
    return {{"count", d.count}, {"min", d.min}, {"p50", d.p50}, {"p99", d.p99}, {"max", d.max}};
}

void emit(const nlohmann::json& summary,
          const std::string& title,
          const std::vector<std::pair<std::string, std::string>>& rows) {
    std::printf("%s\n", summary.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    std::fflush(stdout);
    std::size_t width = 0;
    for (const auto& row : rows) {
        width = std::max(width, row.first.size());
    }
    std::string table = "\n== " + title + " ==\n";
    for (const auto& [key, value] : rows) {
        table += fmt::format("  {:<{}}  {}\n", key, width, value);
    }
    std::fprintf(stderr, "%s", table.c_str());
    std::fflush(stderr);
}

std::string bytes_text(double bytes) {
    const double magnitude = std::fabs(bytes);
    if (magnitude >= 1024.0 * 1024 * 1024) {
        return fmt::format("{:.2f} GiB", bytes / (1024.0 * 1024 * 1024));
    }
    if (magnitude >= 1024.0 * 1024) {
        return fmt::format("{:.2f} MiB", bytes / (1024.0 * 1024));
    }
    if (magnitude >= 1024.0) {
        return fmt::format("{:.1f} KiB", bytes / 1024.0);
    }
    return fmt::format("{:.0f} B", bytes);
}

std::string fixed(double value, int decimals) {
    return fmt::format("{:.{}f}", value, decimals);
}

}  // namespace agentlb::bench
