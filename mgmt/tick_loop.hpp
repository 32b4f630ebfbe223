#pragma once

// The loop the server's periodic parts share (StoreOutage, Drain,
// Rebalancer, ClusterWatcher): a coroutine on one io_context that wakes on
// a timer until its owner is stopped. The owner's stop() posts to that
// context, sets its `stopped` flag and cancels the timer.

#include "common/util/exception_text.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>
#include <utility>

namespace agentlb::mgmt {

// Runs the coroutine `make_loop()` returns on `context`. An exception that
// ends it is a bug: logged as critical, naming `what`.
template <class MakeLoop>
void spawn_loop(boost::asio::io_context& context, const char* what, MakeLoop make_loop) {
    boost::asio::co_spawn(context, std::move(make_loop), [what](std::exception_ptr e) {
        if (auto text = util::exception_text(e)) {
            spdlog::critical("{} ended: {}", what, *text);
        }
    });
}

// Waits `period` on `timer` (a cancel ends the wait early). False once
// `stopped` is set: the loop ends.
inline boost::asio::awaitable<bool> next_tick(boost::asio::steady_timer& timer,
                                              std::chrono::milliseconds period,
                                              const bool& stopped) {
    timer.expires_after(period);
    boost::system::error_code ec;
    co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    co_return !stopped;
}

}  // namespace agentlb::mgmt
