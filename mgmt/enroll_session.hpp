#pragma once

// One connection on the enrollment port (8251): server-authenticated TLS
// (the agent pins the CA fingerprint), then the exchange of
// protocol::EnrollServerMachine (one `enroll` frame in, one `enrolled` or
// `error` frame out, close), driven here: this class reads, asks the rate
// limit (mgmt/enroll_rate_limit.hpp) and the store (mgmt/enroll_request.hpp),
// writes, counts and logs. The handshake, the request and the answer each
// must finish within --handshake-timeout.

#include "common/protocol/enroll_server_machine.hpp"
#include "common/tls/deadline.hpp"
#include "common/tls/stream.hpp"
#include "common/wire/messages.hpp"
#include "mgmt/awaitable.hpp"
#include "mgmt/enroll_rate_limit.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace agentlb::mgmt {

class SharedState;

// How often refusals of rate-limited addresses are summed up in the log.
inline constexpr std::chrono::seconds kEnrollRefusalSummaryInterval{10};

// Logs one line for the rate-limited refusals since the previous call, if any.
void log_enroll_refusal_summary(SharedState& state);
// That line (for a summary with refusals).
std::string enroll_refusal_summary_line(const EnrollRateLimit::Summary& summary);

class EnrollSession : public std::enable_shared_from_this<EnrollSession> {
public:
    EnrollSession(boost::asio::ip::tcp::socket socket, std::shared_ptr<SharedState> state);

    void start();

private:
    using Machine = protocol::EnrollServerMachine;

    boost::asio::awaitable<void> run();
    // False when it failed (counted and logged).
    boost::asio::awaitable<bool> handshake();
    // One read, fed to the machine.
    boost::asio::awaitable<Machine::Actions> read();
    boost::asio::awaitable<Machine::Actions> carry_out(Machine::Action action);
    Machine::Actions check_rate_limit();
    boost::asio::awaitable<Machine::Actions> redeem(wire::EnrollRequest request);
    boost::asio::awaitable<Machine::Actions> renew_expired(wire::RenewExpired request);
    // Counts, logs and feeds the rate limit.
    void account(const Machine::Close& close);
    // Writes the answer the machine sent, then shuts TLS down.
    boost::asio::awaitable<void> flush();
    // The one timer, at the machine's deadline.
    void arm_deadline();

    std::shared_ptr<SharedState> state_;
    std::string peer_;
    std::string source_;  // the rate limit's key for the peer
    tls::TlsStream stream_;
    tls::Deadline deadline_;
    Machine machine_;
    std::optional<wire::Message> answer_;  // sent by the machine, written at its Close
    std::string exporter_;                 // this connection's binding for renew_expired ("" if none)
};

}  // namespace agentlb::mgmt
