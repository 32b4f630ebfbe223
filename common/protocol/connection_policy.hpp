#pragma once

// Which management server an agent tries next, and how long it waits: the
// agent side's connection rules, shared by agentlb-agent and the bench's
// simulated agents. No socket, no clock, no random source: the random
// numbers that jitter a wait come in as values in [0, 1).
//
// - Candidates are the list entries in order; entries on the avoid list are
//   moved to the end, so they are used only when nothing else answers.
// - After a full pass fails, wait with exponential backoff (1 s, x2, capped
//   at 60 s) and +/-20 % jitter; a connect resets it.
// - A server that pushes back (too many handshakes in progress there,
//   push_back.hpp) is a failed candidate: the next one is tried at once. When
//   a whole pass failed and at least one server pushed back, the wait is the
//   smallest retry-after the pass heard, +0..10 %, instead of the backoff
//   (which does not grow then), and the next pass tries that server first:
//   each server told the agent its place in its queue, and the soonest place
//   is the one to keep.
// - The preferred server is the first candidate; every check interval
//   (+/-10 % jitter, 0 = off) the agent tries it when connected elsewhere.
//   The check is off while the held list's algorithm is `shuffle`, as in
//   CloudStack's Agent (a shuffled order is no preference to return to).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::protocol {

struct BackoffSettings {
    std::chrono::milliseconds initial{1'000};
    double factor = 2.0;
    std::chrono::milliseconds cap{60'000};
    double jitter = 0.2;  // +/- fraction of the wait
};

inline constexpr double kPreferredCheckJitter = 0.1;
// A push-back's retry-after is already this agent's place in the server's
// queue (mgmt/admission.hpp): the wait adds 0..10 % to it, enough to part
// agents told the same time, never enough to reorder the queue much.
inline constexpr double kPushBackSpread = 0.1;

// base * (1 + fraction * (2r - 1)): r = 0 gives the lower bound, r -> 1 the upper.
std::chrono::milliseconds apply_jitter(std::chrono::milliseconds base, double fraction, double r);

// The wait for a push-back's `retry_after`: retry_after * (1 + kPushBackSpread * r), r in [0, 1).
std::chrono::milliseconds push_back_wait(std::chrono::milliseconds retry_after, double r);

class Backoff {
public:
    explicit Backoff(BackoffSettings settings);

    // The wait before the next pass, jittered by `r` in [0, 1); each call
    // doubles the base up to the cap.
    std::chrono::milliseconds next(double r);
    void reset();
    std::chrono::milliseconds base() const { return base_; }

private:
    BackoffSettings settings_;
    std::chrono::milliseconds base_;
};

// Two entries name the same server when their endpoints are equal
// ("m1" and "m1:8250"); entries that do not parse compare as text.
bool same_server(std::string_view a, std::string_view b);

class ConnectionPolicy {
public:
    explicit ConnectionPolicy(BackoffSettings backoff);

    void set_hosts(std::vector<std::string> hosts);
    void set_avoid(std::vector<std::string> avoid);
    // The held list's algorithm ("" when it names none).
    void set_algorithm(std::string algorithm);
    const std::vector<std::string>& hosts() const { return hosts_; }
    const std::vector<std::string>& avoid() const { return avoid_; }
    const std::string& algorithm() const { return algorithm_; }

    // One pass, in the order to try.
    std::vector<std::string> candidates() const;
    // The same without `current` (after `migrate`: any server but this one).
    std::vector<std::string> candidates_excluding(std::string_view current) const;
    bool contains(std::string_view entry) const;

    // The first candidate; nullopt when the list is empty.
    std::optional<std::string> preferred() const;
    // False while the algorithm is `shuffle`.
    bool preferred_check_on() const;
    // True when the check is on, a preferred server exists and `current` is not it.
    bool should_try_preferred(std::string_view current) const;
    // Delay until the next preferred check (jittered by `r` in [0, 1)), or
    // nullopt when the interval is 0 or the check is off.
    std::optional<std::chrono::milliseconds> preferred_check_delay(std::int64_t interval_seconds,
                                                                   double r) const;

    // Server `entry` of this pass pushed back asking to wait `retry_after`
    // (the caller goes on with the next candidate at once).
    void pushed_back(std::string_view entry, std::chrono::milliseconds retry_after);
    // The smallest retry-after heard during this pass, if any server pushed back.
    std::optional<std::chrono::milliseconds> pass_retry_after() const { return pass_retry_after_; }

    // A full pass failed: the wait before the next one (jittered by `r` in
    // [0, 1)): when servers pushed back, the smallest retry-after they asked
    // for (push_back_wait), and the next pass tries that server first
    // (pass_candidates); else the backoff's. Starts a new pass.
    std::chrono::milliseconds pass_failed(double r);
    // The order of the next pass: candidates(), with the server that expects
    // room soonest first after a pass that servers pushed back.
    std::vector<std::string> pass_candidates() const;
    void connected();
    const Backoff& backoff() const { return backoff_; }

private:
    bool avoided(std::string_view entry) const;

    std::vector<std::string> hosts_;
    std::vector<std::string> avoid_;
    std::string algorithm_;
    Backoff backoff_;
    std::optional<std::chrono::milliseconds> pass_retry_after_;
    std::string soonest_;      // the server that asked for pass_retry_after_
    std::string retry_first_;  // tried first by the next pass ("" = none)
};

}  // namespace agentlb::protocol
