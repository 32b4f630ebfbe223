// Agent: the periodic check that moves back to the preferred server (the
// list's first reachable entry) once it answers, make-before-break.

#include "agent/agent.hpp"

#include <spdlog/spdlog.h>

namespace agentlb::agent {

namespace asio = boost::asio;

asio::awaitable<void> Agent::preferred_loop() {
    while (!stopping_) {
        const auto delay = policy_.preferred_check_delay(settings_.check_interval, random_());
        if (!co_await sleep(preferred_timer_, delay) || stopping_) {
            continue;  // woken early: the interval or the connection changed
        }
        if (!current_ || switching_ || relocate_ || !policy_.should_try_preferred(current_->entry())) {
            continue;
        }
        const std::string target = *policy_.preferred();
        spdlog::debug("preferred check: trying {} (connected to {})", target, current_->entry());
        switching_ = true;
        DialOutcome outcome = co_await dial(target);
        switching_ = false;
        if (!outcome.session) {
            spdlog::debug("preferred server {} still unavailable: {}", target, outcome.reason);
            continue;
        }
        if (stopping_ || (current_ && !policy_.should_try_preferred(current_->entry()))) {
            outcome.session->close(stopping_ ? "stopping" : "already on the preferred server");
            continue;
        }
        adopt(outcome.session, "preferred server " + target + " answers");
    }
}

}  // namespace agentlb::agent
