#pragma once

// Group commit of the agent sessions' connection records.
//
// Every `welcome` waits for its set_connected (make-before-break: the record
// names this server before the agent hears it), and every closed session
// clears its record. One transaction each made the store thread commit once
// per handshake. Here a change is queued and the store thread takes every
// change queued by the time it gets to them and commits them in ONE
// transaction, then resumes each caller: no timer, no added wait (a change
// queued while the store thread is idle is committed alone, at once); a
// storm of handshakes shares commits. Each caller still resumes only after
// its change is committed, so the make-before-break contract holds.

#include "common/store/store.hpp"
#include "mgmt/store_worker.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace agentlb::mgmt {

class ConnectionRecorder {
public:
    // Asked on the store thread just before a group is committed: false
    // drops the change (done, nothing written), e.g. the server is stopping,
    // or a clear whose host has a session here again.
    using StillWanted = std::function<bool(const store::ConnectionChange&)>;
    // Seconds since the epoch for last_seen (a parameter for tests).
    using Now = std::function<std::int64_t()>;

    ConnectionRecorder(StoreWorker& worker, std::string server, StillWanted still_wanted, Now now);

    // Resumes once the change is committed (or dropped as no longer wanted);
    // throws what the store threw for it. A failed group is retried one
    // change per transaction, so one bad change fails only its own caller.
    boost::asio::awaitable<void> apply(store::ConnectionChange change);

    // Transactions committed by groups (for tests and figures).
    std::uint64_t commits() const;

private:
    struct Waiter {
        virtual ~Waiter() = default;
        virtual void complete(std::exception_ptr error) = 0;
    };
    template <class Fn>
    struct WaiterImpl final : Waiter {
        explicit WaiterImpl(Fn&& fn) : fn_(std::move(fn)) {}
        void complete(std::exception_ptr error) override { fn_(std::move(error)); }
        Fn fn_;
    };
    struct Pending {
        store::ConnectionChange change;
        std::unique_ptr<Waiter> waiter;
    };
    // Shared with the queued flush job, which may run after the recorder is gone.
    struct Queue {
        std::string server;
        StillWanted still_wanted;
        Now now;
        std::mutex mutex;
        std::vector<Pending> pending;
        bool flush_queued = false;
        std::uint64_t commits = 0;
    };

    void enqueue(store::ConnectionChange change, std::unique_ptr<Waiter> waiter);
    static void flush(Queue& queue, store::Store* store);

    StoreWorker& worker_;
    std::shared_ptr<Queue> queue_;
};

}  // namespace agentlb::mgmt
