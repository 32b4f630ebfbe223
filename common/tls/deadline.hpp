#pragma once

// A timeout for a step of a session (handshake, read of a frame, shutdown).
//
// Boost 1.74 has no per-operation cancellation: the only way to end a pending
// wait is to close the socket. A Deadline arms a steady_timer and, when it
// fires, runs its action (by default: close the stream or socket), which ends
// every pending operation with operation_aborted. Re-arm it before each step,
// cancel it once the step succeeded.
//
// Single-threaded: use it on the executor (strand) of the stream it guards.
// Declare it after the stream it closes, so that it is destroyed first; its
// destructor disarms it, so an expiry already queued never touches the stream.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace agentlb::tls {

class TlsStream;

class Deadline {
public:
    Deadline(const boost::asio::any_io_executor& executor, std::function<void()> on_expire);
    // Closes the stream when it fires.
    explicit Deadline(TlsStream& stream);
    // Closes the socket when it fires.
    explicit Deadline(boost::asio::ip::tcp::socket& socket);
    ~Deadline();

    Deadline(const Deadline&) = delete;
    Deadline& operator=(const Deadline&) = delete;

    // Arms (or re-arms, replacing the previous expiry) the deadline.
    void expires_after(std::chrono::steady_clock::duration timeout);
    // Disarms it; an expiry that has not run yet will not run.
    void cancel();
    // True when the action ran since the last expires_after().
    bool expired() const;

private:
    struct State {
        std::function<void()> on_expire;
        std::uint64_t generation = 0;
        bool expired = false;
    };

    boost::asio::steady_timer timer_;
    std::shared_ptr<State> state_;
};

}  // namespace agentlb::tls
