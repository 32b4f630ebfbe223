// AgentSession: how a session ends: the close and its log line (by reason),
// leaving the registry, and clearing the store's record of it.

#include "common/util/clock.hpp"
#include "common/util/exception_text.hpp"
#include "mgmt/agent_session.hpp"
#include "mgmt/app_router.hpp"
#include "mgmt/session_end_reason.hpp"
#include "mgmt/shared_state.hpp"

#include <boost/asio/co_spawn.hpp>

#include <spdlog/spdlog.h>

namespace agentlb::mgmt {

namespace asio = boost::asio;
using protocol::CloseReason;

void AgentSession::close(const protocol::Close& close) {
    admission_.release();  // ended before welcome: not when the last handler lets go
    if (ending_ == Ending::no) {
        log_close(close);
        end_session(close);
        if (close.flush_first) {
            ending_ = Ending::flushing;
            flush();  // closes once the refusal is out
            return;
        }
    }
    ending_ = Ending::done;
    close_stream();
}

void AgentSession::log_close(const protocol::Close& close) const {
    const auto reason = close.reason;
    if (protocol::is_refusal(reason) && !registered_) {
        const auto label = protocol::close_reason_text(reason);
        state_->metrics.count_handshake(label, handshake_kind());
        // The machine escaped the peer's part of the detail already. A
        // drain refuses every hello by design: not a warning.
        spdlog::log(reason == CloseReason::draining ? spdlog::level::info : spdlog::level::warn,
                    "refused {}: {}: {}",
                    who(),
                    label,
                    close.detail);
        // A drain refuses every hello by design: the page's events would hold nothing else.
        if (reason != CloseReason::draining) {
            state_->events.add(refusal_event(util::unix_now(), who(), std::string(label), close.detail));
        }
        return;
    }
    switch (reason) {
        case CloseReason::handshake_failed:
            break;  // logged and counted with the TLS layer's reason
        case CloseReason::peer_closed:
        case CloseReason::stopped:
        case CloseReason::write_failed:
            spdlog::debug("{}: {}", who(), close.detail);
            break;
        case CloseReason::revoked:
            state_->metrics.revoked_sessions_closed.fetch_add(1);
            spdlog::info("{}: {}", who(), close.detail);
            break;
        case CloseReason::superseded:
            spdlog::warn("{}: superseded: {}", who(), close.detail);
            break;
        case CloseReason::drained:
            spdlog::info("{}: ended: {}", who(), close.detail);
            break;
        case CloseReason::internal:
            spdlog::error("{}: {}", who(), close.detail);
            break;
        default:
            spdlog::warn("{}: closing the session: {}", who(), close.detail);
            break;
    }
}

void AgentSession::close_stream() {
    watchdog_.cancel();
    stream_.close();
}

void AgentSession::end_session(const protocol::Close& close) {
    post_end_hook(close);
    if (!registered_) {
        return;
    }
    registered_ = false;
    if (const auto why = session_end_reason(close.reason, !migrate_reason_.empty())) {
        state_->metrics.count_session_end(*why);
    }
    state_->registry.remove(machine_.host_id(), this);
    if (state_->apps && machine_.takes_app()) {
        state_->apps->detach(machine_.name(), this);
    }
    state_->metrics.agents_connected.fetch_sub(1);
    state_->metrics.pushes_unacked.fetch_sub(static_cast<std::int64_t>(machine_.pending_acks()));
    spdlog::debug("{}: disconnected", who());
    auto self = shared_from_this();
    asio::co_spawn(
        stream_.get_executor(),
        [self] { return self->forget_connection(); },
        [](std::exception_ptr e) {
            if (auto text = util::exception_text(e)) {
                spdlog::error("agent session end: {}", *text);
            }
        });
}

// agent.moved: the session ended because the agent went to another server,
// either after this server asked it to (`migrate`: it then left on its own),
// or because a newer session of it on another server superseded this one.
// Any other end of a welcomed session is agent.disconnected.
void AgentSession::post_end_hook(const protocol::Close& close) {
    if (!hook_connected_) {
        return;
    }
    hook_connected_ = false;
    HookHost host{machine_.name(), machine_.host_id(), machine_.zone()};
    const bool left = close.reason == CloseReason::peer_closed || close.reason == CloseReason::read_failed;
    if (close.reason == CloseReason::superseded) {
        auto event = agent_hook_event(
            kHookAgentMoved, state_->options.name, std::move(host), "superseded", close.detail);
        event.to = superseded_by_;
        state_->post_hook(std::move(event));
    } else if (left && !migrate_reason_.empty()) {
        state_->post_hook(agent_hook_event(
            kHookAgentMoved, state_->options.name, std::move(host), "migrate", migrate_reason_));
    } else {
        state_->post_hook(agent_hook_event(kHookAgentDisconnected,
                                           state_->options.name,
                                           std::move(host),
                                           std::string(protocol::close_reason_text(close.reason)),
                                           close.detail));
    }
}

}  // namespace agentlb::mgmt
