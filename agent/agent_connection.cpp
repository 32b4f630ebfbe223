// Agent: dialling the candidates, adopting a session (make-before-break), and
// the loop that reconnects after a loss or relocates after a migrate.

#include "agent/agent.hpp"
#include "agent/printable.hpp"
#include "agent/trust_update.hpp"
#include "common/protocol/connection_policy.hpp"
#include "common/util/bounded_join.hpp"
#include "common/util/text.hpp"
#include "common/wire/frame.hpp"

#include <boost/asio/this_coro.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace agentlb::agent {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// After a switch the old session stays this long (see ServerSession::retire).
constexpr milliseconds kHandoverGrace{500};

const char* handshake_text(const ServerSession& session) {
    return session.resumed() ? "resumed" : "full handshake";
}

}  // namespace

asio::awaitable<DialOutcome> Agent::dial(const std::string& entry) {
    // Held for the whole dial: a renewal may replace the context meanwhile.
    const std::shared_ptr<SSL_CTX> context = client_context_;
    wire::Hello hello;
    hello.name = identity_name();
    hello.zone = settings_.zone.empty() ? options_.zone : settings_.zone;
    hello.list = settings_.held_list();
    hello.interval = settings_.check_interval;
    hello.version = AGENTLB_VERSION;
    hello.trusts = bundle_fingerprints(credentials_.ca_pem);
    hello.app = app_link_ != nullptr;
    if (!hello.list.empty() && wire::encode_message(hello).size() > wire::kMaxPayload) {
        // An empty list disagrees with any list, so the server answers with a
        // correction, which replaces the oversized one in the file.
        if (!warned_oversized_list_) {
            warned_oversized_list_ = true;
            spdlog::warn(
                "the list in {} (host=, {} entries) makes a hello larger than {} bytes: connecting "
                "without reporting it, so that the server sends the current list",
                printable_path(options_.config_path),
                settings_.hosts.size(),
                wire::kMaxPayload);
        }
        hello.list.clear();
    }
    auto executor = co_await asio::this_coro::executor;
    spdlog::debug("dialling {}", entry);
    co_return co_await ServerSession::dial(executor, entry, context.get(), std::move(hello), timeouts_);
}

asio::awaitable<bool> Agent::connect_pass(std::vector<std::string> candidates, bool relocating) {
    std::vector<std::string> failures;
    for (const auto& entry : candidates) {
        if (stopping_ || (!relocating && current_)) {
            co_return static_cast<bool>(current_);
        }
        DialOutcome outcome = co_await dial(entry);
        if (outcome.session) {
            if (stopping_) {
                outcome.session->close("stopping");
                co_return false;
            }
            if (!relocating && current_) {
                // The preferred check connected us meanwhile.
                outcome.session->close("already connected");
                co_return true;
            }
            adopt(outcome.session,
                  relocating ? "moving away from " + (current_ ? current_->entry() : "(none)") : "");
            co_return true;
        }
        if (outcome.push_back) {
            // The server is saturated with handshakes: the next one is dialled at once.
            policy_.pushed_back(entry, outcome.push_back->retry_after);
            spdlog::info(
                "{} pushed back (too many handshakes in progress there; it asks to retry after {} "
                "ms): trying the next server",
                entry,
                outcome.push_back->retry_after.count());
        } else if (outcome.refused) {
            spdlog::debug("{}: {}", entry, outcome.reason);
        } else if (outcome.code == wire::ErrorCode::draining) {
            // Maintenance or a shutdown: expected, and the next entry is dialled at once.
            spdlog::info("{} takes no agents now, trying the next server: {}", entry, outcome.reason);
        } else {
            spdlog::warn("cannot use {}: {}", entry, outcome.reason);
        }
        failures.push_back(entry + ": " + outcome.reason);
    }
    if (!candidates.empty()) {
        spdlog::warn("no management server answered ({})", util::join_bounded(failures, "; "));
    }
    co_return false;
}

void Agent::adopt(const std::shared_ptr<ServerSession>& session, const std::string& why) {
    auto old = current_;
    current_ = session;
    ++open_sessions_;
    policy_.connected();
    const auto& welcome = session->welcome();
    if (old) {
        spdlog::info("switched from {} to {} (server {}, {}){}",
                     old->entry(),
                     session->entry(),
                     util::peer_text(welcome.server),
                     handshake_text(*session),
                     why.empty() ? "" : ": " + why);
        // Make-before-break: the new session is up before the old one goes.
        old->retire(kHandoverGrace, "switched to " + session->entry());
        std::erase_if(retiring_, [](const std::weak_ptr<ServerSession>& s) { return s.expired(); });
        retiring_.push_back(old);
    } else {
        spdlog::info("connected to {} (server {}, host id {}, {})",
                     session->entry(),
                     util::peer_text(welcome.server),
                     welcome.host_id,
                     handshake_text(*session));
    }
    // A failover: the connection to one server was lost and another took us.
    if (!old && lost_entry_ && !protocol::same_server(*lost_entry_, session->entry())) {
        ++failovers_;
    }
    lost_entry_.reset();
    metrics_changed();
    session->start(*this);
    if (app_link_) {
        app_link_->on_session(session);
    }
    // The check interval counts from the connect.
    preferred_timer_.cancel();
    renewal_policy_ = welcome.renewal;
    check_renewal();
}

asio::awaitable<void> Agent::connection_loop() {
    while (!stopping_) {
        if (!current_) {
            if (certificate_expired()) {
                // Every handshake would be refused: renew first.
                co_await renew_expired_certificate();
                continue;
            }
            auto candidates = policy_.pass_candidates();
            if (co_await connect_pass(candidates, false) || stopping_) {
                continue;
            }
            const bool pushed_back = policy_.pass_retry_after().has_value();
            const auto wait = policy_.pass_failed(random_());
            if (pushed_back) {
                spdlog::warn("retrying in {} ms, when the servers that pushed back expect room",
                             wait.count());
            } else if (candidates.empty()) {
                spdlog::warn(
                    "no management server list in {} (host=); waiting {} ms (send SIGHUP after editing)",
                    printable_path(options_.config_path),
                    wait.count());
            } else {
                spdlog::warn("retrying in {} ms", wait.count());
            }
            co_await sleep(retry_timer_, wait);
            continue;
        }
        if (relocate_) {
            const auto from = current_;
            auto candidates = policy_.candidates_excluding(from->entry());
            const auto only = std::move(relocate_to_);
            relocate_to_.clear();
            if (!only.empty()) {
                std::erase_if(candidates, [&only](const std::string& entry) {
                    return std::none_of(only.begin(), only.end(), [&entry](const std::string& named) {
                        return protocol::same_server(entry, named);
                    });
                });
            }
            switching_ = true;
            const bool moved = co_await connect_pass(candidates, true);
            switching_ = false;
            if (moved || current_ != from) {
                relocate_ = false;
                continue;
            }
            if (stopping_) {
                break;
            }
            if (!only.empty()) {
                // A move towards servers ahead in the list: staying is fine.
                spdlog::info("asked to move ahead in the list, but {} did not take us: staying on {}",
                             candidates.empty() ? "no server it named" : util::join_bounded(candidates),
                             from->entry());
                relocate_ = false;
                continue;
            }
            const auto wait = policy_.pass_failed(random_());
            spdlog::warn(
                "nothing else answers: staying on {}; trying again in {} ms", from->entry(), wait.count());
            co_await sleep(retry_timer_, wait);
            continue;
        }
        co_await sleep(wake_, std::nullopt);
    }
}

void Agent::on_closed(const std::shared_ptr<ServerSession>& session, const std::string& reason) {
    --open_sessions_;
    if (session != current_) {
        spdlog::debug("closed session to {}: {}", session->entry(), reason);
        return;
    }
    current_.reset();
    if (app_link_) {
        app_link_->on_session(nullptr);
    }
    relocate_ = false;
    if (stopping_) {
        return;
    }
    spdlog::warn("lost the connection to {}: {}", session->entry(), reason);
    lost_entry_ = session->entry();
    metrics_changed();
    wake_connection_loop();
}

void Agent::wake_connection_loop() {
    wake_.cancel();
    retry_timer_.cancel();
}

}  // namespace agentlb::agent
