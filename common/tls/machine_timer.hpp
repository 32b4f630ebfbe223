#pragma once

// The one timer a driver keeps for a protocol machine (common/protocol):
// armed at machine.deadline() after every input, and left alone when the
// deadline did not move, so that most inputs cost no timer operation. A
// firing that a later arm() replaced is dropped; `fire` runs only for the
// deadline still armed.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <utility>

namespace agentlb::tls {

class MachineTimer {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    explicit MachineTimer(const boost::asio::any_io_executor& executor) : timer_(executor) {}

    // `fire()` runs on the timer's executor at `at` (TimePoint::max(): never).
    // It may outlive its owner's other members: capture a weak pointer, or
    // rely on this timer being destroyed with them (a destroyed timer's wait
    // ends with an error and never calls `fire`).
    template <class Fire>
    void arm(TimePoint at, Fire fire) {
        if (at == armed_at_) {
            return;
        }
        armed_at_ = at;
        if (at == TimePoint::max()) {
            timer_.cancel();
            return;
        }
        timer_.expires_at(at);
        timer_.async_wait([this, at, fire = std::move(fire)](const boost::system::error_code& ec) mutable {
            if (ec || armed_at_ != at) {
                return;
            }
            armed_at_ = TimePoint::max();
            fire();
        });
    }

    void cancel() {
        armed_at_ = TimePoint::max();
        timer_.cancel();
    }

private:
    boost::asio::steady_timer timer_;
    TimePoint armed_at_ = TimePoint::max();
};

}  // namespace agentlb::tls
