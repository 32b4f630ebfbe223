#pragma once

// Summaries of samples and the two outputs of every scenario: one JSON line
// on stdout (for scripts and tests) and a table for people on stderr.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace agentlb::bench {

struct Distribution {
    std::size_t count = 0;
    double min = 0;
    double p50 = 0;
    double p99 = 0;
    double max = 0;
};

// Nearest-rank percentiles; all zero when empty. Sorts `samples`.
Distribution distribution(std::vector<double>& samples);
nlohmann::json to_json(const Distribution& d);

// Prints the JSON line on stdout and the table (title, then key/value rows) on stderr.
void emit(const nlohmann::json& summary,
          const std::string& title,
          const std::vector<std::pair<std::string, std::string>>& rows);

// "12.3 KiB", "1.20 MiB", ...
std::string bytes_text(double bytes);
// Fixed decimals.
std::string fixed(double value, int decimals);

}  // namespace agentlb::bench
