#pragma once

// The client certificate of an agent-port session, as protocol::ServerMachine
// takes it: present or not, its CN and serial, and the typed verdict of
// certs::check_leaf. Checked again here because a resumed session skipped
// the handshake's certificate checks. One place for agentlb-mgmt's
// AgentSession and the tests' FakeMgmt.

#include "certs/revocation.hpp"
#include "common/protocol/server_machine.hpp"

#include <openssl/ssl.h>

namespace agentlb::tls {

// `revoked` may be null (nothing is revoked).
protocol::PeerCertificate agent_certificate(SSL* ssl, const certs::RevocationList* revoked);

}  // namespace agentlb::tls
