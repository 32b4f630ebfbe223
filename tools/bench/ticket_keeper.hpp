#pragma once

// How a simulated agent gets the tickets its server sends: the servers send
// them after `welcome`, while the session is idle, so they arrive during a
// later SSL_read; OpenSSL's new-session callback hands each one to the agent
// that owns the SSL. One client context serves every agent of a worker, so
// the agent is found through the SSL's ex_data.

#include <openssl/ssl.h>

namespace agentlb::bench {

class SimAgent;

// Installs the callback on the workers' client context.
void install_ticket_keeper(SSL_CTX* ctx);
// Names the agent that keeps the tickets of `ssl`.
void attach_agent(SSL* ssl, SimAgent* agent);

}  // namespace agentlb::bench
