#include "mgmt/reissue_pacer.hpp"

#include "mgmt/agent_session.hpp"
#include "mgmt/shared_state.hpp"
#include "mgmt/tick_loop.hpp"

#include <boost/asio/post.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace agentlb::mgmt {

namespace asio = boost::asio;

ReissuePacer::ReissuePacer(asio::io_context& context, std::shared_ptr<SharedState> state)
    : context_(context), state_(std::move(state)), timer_(context) {}

void ReissuePacer::request(std::int64_t rate) {
    rate_ = std::max<std::int64_t>(rate, 1);
    pending_ = true;
    if (!running_ && !stopped_) {
        running_ = true;
        spawn_loop(context_, "reissue pacer", [self = shared_from_this()] { return self->run(); });
    }
}

void ReissuePacer::stop() {
    asio::post(context_, [self = shared_from_this()] {
        self->stopped_ = true;
        self->timer_.cancel();
    });
}

asio::awaitable<void> ReissuePacer::run() {
    while (pending_ && !stopped_) {
        pending_ = false;
        const auto cas = state_->ca.view();
        if (!cas->previous_fingerprint || cas->previous_key_id.empty()) {
            spdlog::info("reissue requested, but no CA rotation is in progress: nothing to renew");
            break;
        }
        if (cas->issuer_outdated) {
            spdlog::warn(
                "reissue requested, but this server still issues from the previous CA: copy the rotated "
                "CA files (ca.key, ca.crt) to --ca-dir {}",
                state_->options.ca_dir);
            break;
        }
        std::int64_t asked = 0;
        for (const auto& session : state_->registry.sessions()) {
            if (stopped_ || pending_) {
                break;
            }
            if (!session->certificate_from(cas->previous_key_id)) {
                continue;
            }
            session->reissue();
            ++asked;
            const std::chrono::milliseconds gap(1000 / rate_);
            const bool go_on = co_await next_tick(timer_, gap, stopped_);
            if (!go_on) {
                break;
            }
        }
        spdlog::info("reissue: asked {} agents holding a certificate of the previous CA {} to renew",
                     asked,
                     *cas->previous_fingerprint);
    }
    running_ = false;
}

}  // namespace agentlb::mgmt
