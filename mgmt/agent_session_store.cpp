// AgentSession's store work: looking a host up (in the store, or in the
// last snapshot when the store cannot answer), recording and clearing its
// connection, and renewals. Each runs on the store thread and comes back to
// the session's strand.

#include "common/util/clock.hpp"
#include "common/util/text.hpp"
#include "mgmt/agent_session.hpp"
#include "mgmt/agent_store_jobs.hpp"
#include "mgmt/drain.hpp"
#include "mgmt/shared_state.hpp"
#include "mgmt/store_health.hpp"

#include <spdlog/spdlog.h>

namespace agentlb::mgmt {

namespace asio = boost::asio;

asio::awaitable<void> AgentSession::look_up(protocol::LookupHost request) {
    if (const auto why = Drain::hello_refusal(*state_); why != DrainRule::Why::none) {
        // Maintenance or a shutdown: the agent dials its next entry at once.
        auto text = Drain::refusal_text(state_->options.name, why);
        feed([&text](protocol::ServerMachine& m) {
            return m.on_draining(std::move(text), protocol::Clock::now());
        });
        co_return;
    }
    if (!state_->serving.load()) {
        // Past agentlb.store.unreachable.limit: agents belong on servers
        // that see the shared configuration (StoreOutage).
        spdlog::debug("{}: refused: this server has lacked its store for too long", who());
        feed([](protocol::ServerMachine& m) { return m.on_lookup_failed(protocol::Clock::now()); });
        co_return;
    }
    if (auto problem = state_->store_health.problem()) {
        // Not queued behind store calls that wait for a timeout each.
        look_up_in_snapshot(request, *problem);
        co_return;
    }
    auto job = [state = state_, name = request.name, serial = request.serial](store::Store& store) {
        return read_host(store, *state, name, serial);
    };
    HostRead read;
    try {
        read = co_await state_->store.call(std::move(job));
    } catch (const std::exception& e) {
        look_up_in_snapshot(request, std::string("store lookup failed: ") + e.what());
        co_return;
    }
    if (read.host && !request.reported_zone.empty() && request.reported_zone != read.host->zone) {
        spdlog::debug("{}: reports zone '{}', registered in '{}'",
                      who(),
                      util::peer_text(request.reported_zone),
                      read.host->zone);
    }
    if (read.host && read.host->connected_to && *read.host->connected_to != state_->options.name) {
        previous_server_ = *read.host->connected_to;
    }
    auto lookup = host_lookup_from(read);
    feed([&lookup, this](protocol::ServerMachine& m) {
        return m.on_lookup(std::move(lookup), state_->seqs, protocol::Clock::now());
    });
}

void AgentSession::look_up_in_snapshot(const protocol::LookupHost& request, const std::string& why) {
    auto read = read_host_from_snapshot(
        state_->snapshot(), request.name, state_->revoked->is_revoked(request.serial));
    if (!read) {
        spdlog::warn("{}: not in this server's last snapshot and the store cannot answer ({})", who(), why);
        feed([](protocol::ServerMachine& m) { return m.on_lookup_failed(protocol::Clock::now()); });
        return;
    }
    // One line per hello would flood the log in a reconnection storm.
    spdlog::debug(
        "{}: answered from the last snapshot (generation {}); its connection is recorded once "
        "the store answers ({})",
        who(),
        read->generation,
        why);
    record_deferred_ = true;
    auto lookup = host_lookup_from(*read);
    feed([&lookup, this](protocol::ServerMachine& m) {
        return m.on_lookup(std::move(lookup), state_->seqs, protocol::Clock::now());
    });
}

asio::awaitable<void> AgentSession::record(std::int64_t host_id) {
    // Record the connection before the agent hears `welcome`: during a
    // make-before-break switch the agent closes its old session as soon as
    // it is welcomed here, and the old server's clear_connected_if must find
    // this server's name already in place, never an empty record.
    // Welcomed from the snapshot, the store is known not to answer: the
    // welcome does not wait for it.
    if (record_deferred_) {
        state_->recheck_record_later(host_id, true);
    } else {
        // Group-committed with the other sessions' records (ConnectionRecorder):
        // still before `welcome`.
        const store::ConnectionChange change{store::ConnectionChange::Kind::connect, host_id};
        try {
            co_await state_->connections.apply(change);
        } catch (const std::exception& e) {
            spdlog::log(store_failure_level(state_->store_health),
                        "{}: cannot record the connection in the store (tried again later): {}",
                        who(),
                        e.what());
            state_->recheck_record_later(host_id, true);
        }
    }
    feed([](protocol::ServerMachine& m) { return m.on_recorded(protocol::Clock::now()); });
    read_available(false);
}

asio::awaitable<void> AgentSession::issue(std::string csr) {
    auto job = [state = state_, csr = std::move(csr), name = machine_.name(), host_id = machine_.host_id()](
                   store::Store& store) { return issue_renewal(store, *state, csr, name, host_id); };
    protocol::Issued issued;
    try {
        issued = co_await state_->store.call(std::move(job));
        if (issued.outcome == protocol::Issued::Outcome::refused) {
            state_->metrics.count_renewal(RenewalKind::agent, RenewalResult::refused);
            spdlog::warn("{}: renewal refused: {}", who(), issued.reason);
        } else {
            state_->metrics.count_renewal(RenewalKind::agent, RenewalResult::ok);
            spdlog::info("{}: issued a renewed certificate", who());
            // The agent holds a certificate of this server's CA now (a reissue need not ask again).
            std::lock_guard lock(status_mutex_);
            issuer_key_id_ = subject_key_id_of(state_->ca.issuer()->certificate());
        }
    } catch (const std::exception& e) {
        state_->metrics.count_renewal(RenewalKind::agent, RenewalResult::failed);
        spdlog::log(store_failure_level(state_->store_health), "{}: renewal failed: {}", who(), e.what());
        issued = protocol::Issued{};
    }
    feed([&issued](protocol::ServerMachine& m) {
        return m.on_issued(std::move(issued), protocol::Clock::now());
    });
    read_available(true);
}

asio::awaitable<void> AgentSession::forget_connection() {
    // Decided on the store thread (ConnectionRecorder's still_wanted): a newer
    // session of this host that registered meanwhile keeps "connected to".
    const store::ConnectionChange change{store::ConnectionChange::Kind::clear, machine_.host_id()};
    try {
        co_await state_->connections.apply(change);
    } catch (const std::exception& e) {
        spdlog::log(store_failure_level(state_->store_health),
                    "{}: cannot clear the connection in the store (tried again later): {}",
                    who(),
                    e.what());
        state_->recheck_record_later(machine_.host_id());
    }
}

}  // namespace agentlb::mgmt
