#pragma once

// The serials of revoked certificates, held in memory and refreshed from the
// store by its owner. Readers (TLS verify callbacks on I/O threads) never
// wait for I/O: a refresh builds a new immutable snapshot and swaps it in.

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::certs {

class RevocationList {
public:
    RevocationList();

    // Replaces the whole set. Serials are hex as serial_of() prints them;
    // upper case and leading zeros are accepted and normalized.
    void replace(std::vector<std::string> serials);

    // Adds one serial at once, ahead of the next refresh (e.g. right after a
    // host is removed).
    void add(std::string_view serial);

    bool is_revoked(std::string_view serial) const;
    std::size_t size() const;

private:
    using Snapshot = std::vector<std::string>;  // sorted, unique, normalized

    std::shared_ptr<const Snapshot> snapshot() const;
    void publish(std::shared_ptr<const Snapshot> next);

    mutable std::mutex pointer_mutex_;  // held only to copy or swap snapshot_
    std::mutex writer_mutex_;           // serializes replace() and add()
    std::shared_ptr<const Snapshot> snapshot_;
};

}  // namespace agentlb::certs
