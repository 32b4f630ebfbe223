#include "tests/e2e/session_sampler.hpp"

#include "common/store/store.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>

namespace agentlb::test {

SessionSampler::SessionSampler(std::string db, std::vector<std::string> hosts)
    : db_(std::move(db)), hosts_(std::move(hosts)), thread_([this] { run(); }) {}

SessionSampler::~SessionSampler() {
    stop();
}

void SessionSampler::stop() {
    stopping_ = true;
    if (thread_.joinable()) {
        thread_.join();
    }
}

void SessionSampler::phase(const std::string& name) {
    const std::lock_guard lock(mutex_);
    phase_ = name;
}

std::size_t SessionSampler::samples() const {
    const std::lock_guard lock(mutex_);
    return samples_;
}

std::chrono::milliseconds SessionSampler::elapsed() const {
    const std::lock_guard lock(mutex_);
    return std::chrono::duration_cast<std::chrono::milliseconds>(last_ - began_);
}

std::vector<std::string> SessionSampler::findings() const {
    const std::lock_guard lock(mutex_);
    return findings_;
}

std::vector<std::string> SessionSampler::errors() const {
    const std::lock_guard lock(mutex_);
    return errors_;
}

// Called with mutex_ held.
std::string SessionSampler::stamp() const {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began_);
    char seconds[32];
    std::snprintf(seconds, sizeof(seconds), "%.1f s", static_cast<double>(ms.count()) / 1000.0);
    return std::string(seconds) + ", during '" + phase_ + "': ";
}

void SessionSampler::run() {
    std::unique_ptr<store::Store> store;
    auto next = std::chrono::steady_clock::now();
    while (!stopping_) {
        try {
            if (!store) {
                store = store::open_store(db_, store::OpenMode::existing);
            }
            sample_once(*store);
        } catch (const std::exception& e) {
            store.reset();
            const std::lock_guard lock(mutex_);
            errors_.push_back(stamp() + e.what());
        }
        // A slow sample delays the next one rather than bunching them up.
        next = std::max(next + kInterval, std::chrono::steady_clock::now());
        std::this_thread::sleep_until(next);
    }
}

void SessionSampler::sample_once(store::Store& store) {
    // Hosts before servers: a server seen in `maintenance` after the hosts
    // were read was in it (or drained) when they were read, so a host on it
    // is a real finding; the other order races with a cancel that lets the
    // agents come back.
    const auto hosts = store.list_hosts();
    const auto servers = store.list_servers();
    std::map<std::string, std::optional<std::string>> on;
    for (const auto& host : hosts) {
        on[host.name] = host.connected_to;
    }
    std::set<std::string> in_maintenance;
    for (const auto& server : servers) {
        if (server.state == "maintenance") {
            in_maintenance.insert(server.name);
        }
    }
    const std::lock_guard lock(mutex_);
    ++samples_;
    last_ = std::chrono::steady_clock::now();
    for (const auto& name : hosts_) {
        const auto found = on.find(name);
        if (found == on.end()) {
            findings_.push_back(stamp() + name + " is not registered");
        } else if (!found->second) {
            findings_.push_back(stamp() + name + " has no session");
        } else if (in_maintenance.count(*found->second) != 0) {
            findings_.push_back(stamp() + name + " is on " + *found->second + ", which is in maintenance");
        }
    }
}

}  // namespace agentlb::test
