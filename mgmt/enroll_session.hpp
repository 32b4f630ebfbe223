#pragma once

// One connection on the enrollment port (8251): server-authenticated TLS
// (the agent pins the CA fingerprint), one `enroll` frame in, one `enrolled`
// or `error` frame out, close. The whole exchange, handshake included, must
// finish within --handshake-timeout per step; the token is redeemed on the
// store thread in one transaction (mgmt/enroll_request.hpp decides). An
// address with too many failed attempts is answered `rate_limited` without
// the store being asked (mgmt/enroll_rate_limit.hpp).

#include "common/tls/deadline.hpp"
#include "common/tls/stream.hpp"
#include "common/wire/frame.hpp"
#include "common/wire/messages.hpp"
#include "mgmt/awaitable.hpp"
#include "mgmt/enroll_rate_limit.hpp"
#include "mgmt/enroll_request.hpp"

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
    boost::asio::awaitable<void> run();
    // Nothing when the peer left or timed out (logged and counted).
    boost::asio::awaitable<std::optional<EnrollIncoming>> read_request();
    boost::asio::awaitable<EnrollReply> enroll(const wire::EnrollRequest& request);
    EnrollReply rate_limited(bool first);
    // Counts, logs and feeds the rate limit.
    void account(const EnrollReply& reply);
    boost::asio::awaitable<void> reply(const wire::Message& message);

    std::shared_ptr<SharedState> state_;
    std::string peer_;
    std::string source_;  // the rate limit's key for the peer
    tls::TlsStream stream_;
    tls::Deadline deadline_;
    wire::FrameDecoder decoder_;
};

}  // namespace agentlb::mgmt
