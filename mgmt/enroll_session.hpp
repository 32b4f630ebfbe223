#pragma once

// One connection on the enrollment port (8251): server-authenticated TLS
// (the agent pins the CA fingerprint), one `enroll` frame in, one `enrolled`
// or `error` frame out, close. The whole exchange, handshake included, must
// finish within --handshake-timeout per step; the token is redeemed on the
// store thread in one transaction.

#include "common/tls/deadline.hpp"
#include "common/tls/stream.hpp"
#include "common/wire/frame.hpp"
#include "common/wire/messages.hpp"
#include "mgmt/awaitable.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <string>

namespace agentlb::mgmt {

class SharedState;

class EnrollSession : public std::enable_shared_from_this<EnrollSession> {
public:
    EnrollSession(boost::asio::ip::tcp::socket socket, std::shared_ptr<SharedState> state);

    void start();

private:
    boost::asio::awaitable<void> run();
    // The enroll request, or nothing (reason logged and counted).
    boost::asio::awaitable<std::optional<wire::EnrollRequest>> read_request();
    boost::asio::awaitable<wire::Message> enroll(const wire::EnrollRequest& request);
    boost::asio::awaitable<void> reply(const wire::Message& message);
    wire::Message refuse(std::string_view result, std::string code, std::string message);

    std::shared_ptr<SharedState> state_;
    std::string peer_;
    tls::TlsStream stream_;
    tls::Deadline deadline_;
    wire::FrameDecoder decoder_;
};

}  // namespace agentlb::mgmt
