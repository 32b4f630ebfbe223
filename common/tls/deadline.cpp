#include "common/tls/deadline.hpp"

#include "common/tls/stream.hpp"

#include <utility>

namespace agentlb::tls {

Deadline::Deadline(const boost::asio::any_io_executor& executor, std::function<void()> on_expire)
    : timer_(executor), state_(std::make_shared<State>()) {
    state_->on_expire = std::move(on_expire);
}

Deadline::Deadline(TlsStream& stream) : Deadline(stream.get_executor(), [&stream] { stream.close(); }) {}

Deadline::Deadline(boost::asio::ip::tcp::socket& socket)
    : Deadline(socket.get_executor(), [&socket] {
          boost::system::error_code ignored;
          socket.close(ignored);
      }) {}

Deadline::~Deadline() {
    // The handler holds the state, not the Deadline: clearing the action makes
    // an expiry that is already queued harmless.
    state_->on_expire = nullptr;
    ++state_->generation;
    timer_.cancel();
}

void Deadline::expires_after(std::chrono::steady_clock::duration timeout) {
    const std::uint64_t generation = ++state_->generation;
    state_->expired = false;
    timer_.expires_after(timeout);
    timer_.async_wait([state = state_, generation](const boost::system::error_code& ec) {
        if (ec || state->generation != generation || !state->on_expire) {
            return;
        }
        state->expired = true;
        // Copy: the action may destroy the Deadline (and with it this function).
        auto action = state->on_expire;
        action();
    });
}

void Deadline::cancel() {
    ++state_->generation;
    timer_.cancel();
}

bool Deadline::expired() const {
    return state_->expired;
}

}  // namespace agentlb::tls
