// AgentSession: the TLS 1.3 session ticket that lets the agent resume on any
// server of the cluster (the servers share the ticket keys through the
// store). The contexts send none during the handshake: building one costs
// a large share of a full handshake's CPU, so it is sent once the agent has
// its `welcome`, when the session is idle.

#include "certs/inspect.hpp"
#include "common/lb/ticket_settings.hpp"
#include "common/tls/server_tickets.hpp"
#include "common/util/clock.hpp"
#include "mgmt/agent_session.hpp"
#include "mgmt/shared_state.hpp"

#include <boost/asio/error.hpp>

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

namespace agentlb::mgmt {

namespace {

// The global value (validated when written); a stored value that does not
// parse (written by hand into the store) gets the default.
std::chrono::seconds configured_ticket_lifetime(const ClusterSnapshot& snapshot) {
    auto settings = lb::ticket_settings_from_config(snapshot.scoped.global);
    return settings ? settings->lifetime : lb::kDefaultTicketLifetime;
}

}  // namespace

void AgentSession::send_ticket() {
    if (ticket_ != Ticket::none || ending_ != Ending::no || !stream_.is_open()) {
        return;
    }
    ticket_ = Ticket::due;
    if (!write_waiting_) {
        flush();  // else the flush that waits for the socket sends it
    }
}

void AgentSession::flush_ticket(FrameOutbox::Flushed& flushed) {
    if (ticket_ == Ticket::due && ending_ == Ending::no) {
        ticket_ = Ticket::done;
        X509* peer = SSL_get0_peer_certificate(stream_.native_handle());
        if (peer == nullptr || !tls::ticket_due(stream_.native_handle(), util::unix_now())) {
            return;  // a resumed agent keeps the ticket it offered while it is young
        }
        const auto lifetime = tls::ticket_lifetime(
            configured_ticket_lifetime(*state_->snapshot()), certs::not_after_of(peer), util::unix_now());
        if (lifetime.count() == 0) {
            return;  // lifetime 0: no resumption
        }
        if (!tls::request_session_ticket(stream_.native_handle(), lifetime)) {
            spdlog::debug("{}: OpenSSL would not make a session ticket", who());
            return;
        }
        ticket_ = Ticket::writing;
    }
    if (ticket_ != Ticket::writing) {
        return;
    }
    const auto ec = stream_.flush_now(flushed.want);
    if (ec == boost::asio::error::would_block) {
        flushed.blocked = true;
    } else if (ec) {
        flushed.error = ec;
    } else {
        ticket_ = Ticket::done;
        state_->metrics.session_tickets_sent.fetch_add(1);
    }
}

}  // namespace agentlb::mgmt
