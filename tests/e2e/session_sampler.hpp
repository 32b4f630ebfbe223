#pragma once

// Watches a running cluster's store from a thread of its own, every 100 ms,
// and keeps every moment an invariant of a drain did not hold:
// - a host without a session (its connected_to is null: no server holds it);
// - a server in state `maintenance` that holds a host.
// The test names what it is doing (phase) so a finding says when it happened.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace agentlb::store {
class Store;
}

namespace agentlb::test {

class SessionSampler {
public:
    static constexpr auto kInterval = std::chrono::milliseconds(100);

    // `db`: the store's location; `hosts`: every host that must hold a session.
    SessionSampler(std::string db, std::vector<std::string> hosts);
    ~SessionSampler();
    SessionSampler(const SessionSampler&) = delete;
    SessionSampler& operator=(const SessionSampler&) = delete;

    void phase(const std::string& name);
    // Ends the thread; the results below are final afterwards.
    void stop();

    std::size_t samples() const;
    std::chrono::milliseconds elapsed() const;
    // "12.3 s, during 'restart ms2': kvm1 has no session", one per finding.
    std::vector<std::string> findings() const;
    // Samples the store could not answer (each with its error).
    std::vector<std::string> errors() const;

private:
    void run();
    void sample_once(store::Store& store);
    std::string stamp() const;

    const std::string db_;
    const std::vector<std::string> hosts_;
    const std::chrono::steady_clock::time_point began_ = std::chrono::steady_clock::now();
    std::atomic<bool> stopping_{false};
    mutable std::mutex mutex_;
    std::string phase_;
    std::size_t samples_ = 0;
    std::chrono::steady_clock::time_point last_ = began_;
    std::vector<std::string> findings_;
    std::vector<std::string> errors_;
    std::thread thread_;  // last: starts once everything above is set
};

}  // namespace agentlb::test
