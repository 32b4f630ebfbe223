#pragma once

// The agent sessions open on this server, by host id. A host may briefly
// hold two (make-before-break while it moves back to its preferred server):
// both are listed, and the store's "connected to" is cleared only when the
// last one closes.
//
// Holds weak pointers: a session lives as long as its own coroutines do.
// Callers copy the list under the lock and act after releasing it.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace agentlb::mgmt {

class AgentSession;

class AgentRegistry {
public:
    void add(std::int64_t host_id, const std::shared_ptr<AgentSession>& session);
    // Returns how many sessions of this host remain after removing this one.
    std::size_t remove(std::int64_t host_id, const AgentSession* session);

    std::vector<std::shared_ptr<AgentSession>> sessions() const;
    std::vector<std::shared_ptr<AgentSession>> sessions_of(std::int64_t host_id) const;
    // Hosts with at least one session, ascending.
    std::vector<std::int64_t> host_ids() const;
    // Distinct hosts with at least one session (the "agents" of the server row).
    std::size_t host_count() const;
    std::size_t session_count() const;
    // Live sessions of one host, without taking a reference to any.
    std::size_t session_count_of(std::int64_t host_id) const;

private:
    struct Entry {
        const AgentSession* address;  // identity without locking the weak_ptr
        std::weak_ptr<AgentSession> session;
    };
    mutable std::mutex mutex_;
    std::map<std::int64_t, std::vector<Entry>> by_host_;
    // Entries in by_host_: the drain reads the count every 100 ms, and a
    // walk of 20,000 sessions each time showed in the connect profile.
    std::size_t entries_ = 0;
};

}  // namespace agentlb::mgmt
