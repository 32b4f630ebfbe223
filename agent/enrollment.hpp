#pragma once

// First start: trade a join token and a CSR for a certificate, the CA and
// the list, over a server-authenticated TLS connection to the enrollment
// port whose CA must match the fingerprint the operator gave.
//
// The key is generated here and never leaves the host. Unreachable or
// refusing ports are retried with backoff (1 s, x2, cap 60 s, +/-20 %), and so
// is `unavailable` (the server could not reach its store); any other `error`
// answer (bad or used token, name taken) or a CA that does not match the pin
// is final.
//
// The exchange itself (request, answer, deadline, which endings are final) is
// protocol::EnrollClientMachine's; this file does DNS, TCP, TLS and the pin.

#include "agent/agent_state.hpp"
#include "agent/connection_policy.hpp"
#include "agent/options.hpp"
#include "common/lb/endpoint.hpp"
#include "common/util/result.hpp"
#include "common/wire/messages.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <openssl/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace agentlb::agent {

struct EnrollmentAttempt {
    std::optional<wire::EnrollResponse> response;
    bool final = false;    // retrying cannot help
    bool refused = false;  // the server answered `error` (`reason` quotes it)
    std::string reason;
};

// One connection: TCP, TLS with the pin, enroll, one answer.
boost::asio::awaitable<EnrollmentAttempt> attempt_enrollment(boost::asio::any_io_executor executor,
                                                             SSL_CTX* context,
                                                             const EnrollOptions& server,
                                                             wire::EnrollRequest request,
                                                             std::chrono::milliseconds connect_timeout,
                                                             std::chrono::milliseconds exchange_timeout);

// The request of an exchange, made once the TLS handshake is done (a
// renew_expired signs the connection's exporter value); an error ends the
// attempt as final.
using EnrollRequestBuilder = std::function<Result<wire::Message>(SSL* ssl)>;

// The same exchange with any request (`build` called after the handshake)
// to `endpoint`.
boost::asio::awaitable<EnrollmentAttempt> attempt_enroll_exchange(boost::asio::any_io_executor executor,
                                                                  SSL_CTX* context,
                                                                  const lb::Endpoint& endpoint,
                                                                  EnrollRequestBuilder build,
                                                                  std::chrono::milliseconds connect_timeout,
                                                                  std::chrono::milliseconds exchange_timeout);

// The request of an agent whose certificate expired: `key_pem` (the expired
// certificate's key) signs the connection's exporter value and `csr`.
Result<wire::Message> make_renew_expired(SSL* ssl,
                                         const std::string& certificate_pem,
                                         const std::string& key_pem,
                                         const std::string& csr);

// Checks what the server sent before anything is written: the certificate
// parses, names `response.name`, holds our key, and chains to a CA whose
// fingerprint is the pinned one.
Status check_enrollment_response(const wire::EnrollResponse& response,
                                 const std::string& key_pem,
                                 const std::string& pinned_ca_fingerprint);

// Writes key, CA, properties (id, name, zone, host, interval), then the
// certificate. Blocks: run on the file worker.
Status store_enrollment(AgentStateFile& state,
                        const wire::EnrollResponse& response,
                        const std::string& key_pem);

}  // namespace agentlb::agent
