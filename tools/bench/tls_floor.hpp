#pragma once

// OpenSSL's own memory floor for an idle agent session, measured in-process.
//
// N server-side TLS 1.3 mTLS sessions are completed over socketpairs with the
// agent port's real context (make_agent_port_server_context), each then reads
// one small record and writes one (as a session does with hello and welcome),
// and the client ends are freed. The heap growth (mallinfo2: bytes in use)
// divided by N is what OpenSSL needs per idle server session: no agentlb
// server can hold one for less. Measured with SSL_MODE_RELEASE_BUFFERS (as
// the daemon runs) and without it.

#include "common/util/result.hpp"

#include <cstdint>
#include <string>

namespace agentlb::bench {

struct FloorInputs {
    std::string ca_pem;
    std::string server_cert_pem;  // serverAuth, with IP SAN 127.0.0.1
    std::string server_key_pem;
    std::string agent_cert_pem;  // clientAuth
    std::string agent_key_pem;
    int sessions = 1000;
};

struct FloorFigures {
    double heap_per_session = 0;  // bytes in use per session (mallinfo2)
    double rss_per_session = 0;   // VmRSS growth per session
};

struct FloorResult {
    int sessions = 0;
    // CPU time of the server side alone per full handshake (plus one small
    // record each way), in microseconds: what OpenSSL's TLS stack, not only
    // its primitives, costs a server per handshake on this machine.
    double server_handshake_us = 0;
    // The same with SSL_CTX_set_num_tickets(1) (the daemon sends none):
    // OpenSSL 3.0 decodes the session (the client certificate again) to
    // build each ticket.
    double server_handshake_us_with_ticket = 0;
    // Server CPU of a resumed handshake (plus one small record each way)
    // from a ticket sent after the handshake: OpenSSL's floor for resumption.
    double server_resumed_handshake_us = 0;
    // A full handshake with one ticket sent after it (as agentlb sends it).
    double server_handshake_us_ticket_after = 0;
    FloorFigures release_buffers;  // SSL_MODE_RELEASE_BUFFERS on (the daemon's setting)
    FloorFigures kept_buffers;     // the same with the mode cleared
    // RELEASE_BUFFERS, and one ticket sent after the welcome-sized record as
    // agentlb-mgmt sends it (num_tickets 0, SSL_new_session_ticket, flushed):
    // the like-for-like floor of a server with tickets on. The record buffers
    // OpenSSL sets up again to write the ticket are released afterwards
    // (SSL_free_buffers), as agentlb does; the second figure keeps them.
    FloorFigures ticket_after_handshake;
    FloorFigures ticket_after_handshake_buffers_kept;
};

// Needs 1 descriptor per session plus a few. A failure names the step.
Result<FloorResult> measure_tls_floor(const FloorInputs& inputs);

}  // namespace agentlb::bench
