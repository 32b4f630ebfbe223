// Agent: the `trust` message (the CAs the cluster trusts, during a CA
// rotation) and `reissue` (renew now).

#include "agent/agent.hpp"
#include "agent/printable.hpp"
#include "agent/trust_update.hpp"
#include "common/util/clock.hpp"

#include <boost/asio/post.hpp>

#include <spdlog/spdlog.h>

namespace agentlb::agent {

namespace asio = boost::asio;

void Agent::on_trust(const std::shared_ptr<ServerSession>& session, const wire::Trust& trust) {
    auto update = apply_trust(credentials_.ca_pem, trust, util::unix_now());
    if (!update) {
        spdlog::error("cannot apply the CAs {} trusts: {}", session->entry(), update.error());
        return;
    }
    for (const auto& refused : update->refused) {
        spdlog::warn("{} sent a CA certificate we do not trust, refused: {}", session->entry(), refused);
    }
    for (const auto& skipped : update->skipped) {
        spdlog::debug("{} lists {}, which our CA replaced or is: not needed", session->entry(), skipped);
    }
    if (!update->changed) {
        return;
    }
    for (const auto& added : update->added) {
        spdlog::info("trusting the CA {} (vouched for by a CA we trust), from {}", added, session->entry());
    }
    for (const auto& dropped : update->dropped) {
        spdlog::info("no longer trusting the CA {}: {} no longer lists it", dropped, session->entry());
    }
    // In memory at once (a renewal answered before the file is written must
    // verify against it); the file follows on the worker.
    credentials_.ca_pem = update->bundle_pem;
    if (auto built = rebuild_client_context(); !built) {
        spdlog::error("the new CA set is unusable, keeping the connection context: {}", built.error());
    }
    auto io = io_.get_executor();
    const AgentSettings paths = settings_;
    worker_.post(io, [io, paths, bundle = update->bundle_pem] {
        auto stored = store_trusted_cas(paths, bundle);
        asio::post(io, [paths, stored = std::move(stored)] {
            if (!stored) {
                spdlog::error(
                    "cannot store the trusted CAs in {}: {}", printable_path(paths.ca_file), stored.error());
            }
        });
    });
}

void Agent::on_reissue(const std::shared_ptr<ServerSession>& session) {
    if (session != current_) {
        return;
    }
    check_renewal(true);
}

}  // namespace agentlb::agent
