#pragma once

// The figures of one connection phase summed over the workers' replies, and
// the resumption sample: sessions closed and reopened with the ticket each
// was sent (connect and storm measure the resumed rate with it).

#include "tools/bench/run_context.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace agentlb::bench {

struct PhaseFigures {
    std::int64_t started_ns = 0;
    std::int64_t last_ns = 0;
    std::size_t attempts = 0;
    std::size_t established = 0;
    std::size_t full = 0;
    std::size_t resumed = 0;
    std::size_t offered_ticket = 0;
    std::size_t pushed_back = 0;
    std::map<std::string, std::size_t> failures;
    std::vector<double> setup_ms;
    std::size_t connected = 0;
    std::vector<std::size_t> per_server;

    // From the phase's start to its last welcome.
    double seconds() const {
        return last_ns > started_ns ? static_cast<double>(last_ns - started_ns) / 1e9 : 0;
    }
};

// Replies of "connect" or "reconnect" (or a "reconnections" object); the
// status fields (connected, per_server) are read when present.
PhaseFigures merge_phase(const std::vector<nlohmann::json>& replies, std::size_t servers);

// Failures whose reason says a deadline passed (connect, handshake, welcome).
std::size_t timeouts_of(const std::map<std::string, std::size_t>& failures);

struct ResumptionSample {
    PhaseFigures figures;
    double server_cpu_s = 0;
    std::size_t tickets_held = 0;  // agents holding a ticket before the sample

    double resumed_per_s() const {
        return figures.seconds() > 0 ? static_cast<double>(figures.resumed) / figures.seconds() : 0;
    }
    double resumed_per_cpu_s() const {
        return server_cpu_s > 0 ? static_cast<double>(figures.resumed) / server_cpu_s : 0;
    }
};

// Closes `count` established sessions (spread over the workers) and reopens
// each on the server it was on, offering its ticket.
Result<ResumptionSample> measure_resumption(RunContext& run,
                                            std::size_t count,
                                            std::chrono::milliseconds phase);
nlohmann::json resumption_json(const ResumptionSample& sample);

}  // namespace agentlb::bench
