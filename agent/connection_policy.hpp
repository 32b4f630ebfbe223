#pragma once

// Which management server to try next, and how long to wait: the agent's
// connection rules without any socket, so they can be tested exactly.
//
// - Candidates are the list entries in order; entries on the avoid list are
//   moved to the end, so they are used only when nothing else answers.
// - After a full pass fails, wait with exponential backoff (1 s, x2, capped
//   at 60 s) and +/-20 % jitter; a connect resets it.
// - The preferred server is the first candidate; every check interval
//   (+/-10 % jitter, 0 = off) the agent tries it when connected elsewhere.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::agent {

// Returns a number in [0, 1). Injected so tests can fix the jitter.
using UnitRandom = std::function<double()>;

// A generator seeded from std::random_device (agents that start together
// must not retry in step).
UnitRandom make_default_random();

struct BackoffSettings {
    std::chrono::milliseconds initial{1'000};
    double factor = 2.0;
    std::chrono::milliseconds cap{60'000};
    double jitter = 0.2;  // +/- fraction of the wait
};

inline constexpr double kPreferredCheckJitter = 0.1;

// base * (1 + fraction * (2r - 1)): r = 0 gives the lower bound, r -> 1 the upper.
std::chrono::milliseconds apply_jitter(std::chrono::milliseconds base, double fraction, double r);

class Backoff {
public:
    Backoff(BackoffSettings settings, UnitRandom random);

    // The wait before the next pass; each call doubles the base up to the cap.
    std::chrono::milliseconds next();
    void reset();
    std::chrono::milliseconds base() const { return base_; }

private:
    BackoffSettings settings_;
    UnitRandom random_;
    std::chrono::milliseconds base_;
};

// Two entries name the same server when their endpoints are equal
// ("m1" and "m1:8250"); entries that do not parse compare as text.
bool same_server(std::string_view a, std::string_view b);

class ConnectionPolicy {
public:
    ConnectionPolicy(BackoffSettings backoff, UnitRandom random);

    void set_hosts(std::vector<std::string> hosts);
    void set_avoid(std::vector<std::string> avoid);
    const std::vector<std::string>& hosts() const { return hosts_; }
    const std::vector<std::string>& avoid() const { return avoid_; }

    // One pass, in the order to try.
    std::vector<std::string> candidates() const;
    // The same without `current` (after `migrate`: any server but this one).
    std::vector<std::string> candidates_excluding(std::string_view current) const;
    bool contains(std::string_view entry) const;

    // The first candidate; nullopt when the list is empty.
    std::optional<std::string> preferred() const;
    // True when a preferred server exists and `current` is not it.
    bool should_try_preferred(std::string_view current) const;
    // Delay until the next preferred check, or nullopt when the interval is 0 (off).
    std::optional<std::chrono::milliseconds> preferred_check_delay(std::int64_t interval_seconds);

    std::chrono::milliseconds pass_failed() { return backoff_.next(); }
    void connected() { backoff_.reset(); }
    const Backoff& backoff() const { return backoff_; }

private:
    bool avoided(std::string_view entry) const;

    std::vector<std::string> hosts_;
    std::vector<std::string> avoid_;
    UnitRandom random_;
    Backoff backoff_;
};

}  // namespace agentlb::agent
