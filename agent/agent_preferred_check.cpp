// Agent: the periodic check that moves back to the preferred server (the
// list's first reachable entry) once it answers, make-before-break. Off while
// the held list's algorithm is shuffle (the policy returns no delay).

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
        // While dialling, a list may have arrived that makes this one the
        // current server, or turns the check off (shuffle).
        if (stopping_ || (current_ && !policy_.should_try_preferred(current_->entry()))) {
            const std::string why = stopping_                       ? "stopping"
                                    : !policy_.preferred_check_on() ? "preferred check off under shuffle"
                                                                    : "already on the preferred server";
            outcome.session->close(why);
            continue;
        }
        adopt(outcome.session, "preferred server " + target + " answers");
    }
}

}  // namespace agentlb::agent
