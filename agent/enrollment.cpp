#include "agent/enrollment.hpp"

#include "agent/credentials.hpp"
#include "agent/printable.hpp"
#include "certs/fingerprint.hpp"
#include "certs/inspect.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "certs/possession.hpp"
#include "certs/verify.hpp"
#include "common/lb/config_keys.hpp"
#include "common/protocol/enroll_client_machine.hpp"
#include "common/tls/channel_binding.hpp"
#include "common/tls/context.hpp"
#include "common/tls/deadline.hpp"
#include "common/tls/stream.hpp"
#include "common/util/clock.hpp"
#include "common/util/duration_text.hpp"
#include "common/util/text.hpp"
#include "common/wire/frame.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <ctime>
#include <optional>
#include <system_error>

namespace agentlb::agent {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using boost::system::error_code;
using tcp = asio::ip::tcp;

asio::awaitable<EnrollmentAttempt> attempt_enrollment(asio::any_io_executor executor,
                                                      SSL_CTX* context,
                                                      const EnrollOptions& server,
                                                      wire::EnrollRequest request,
                                                      std::chrono::milliseconds connect_timeout,
                                                      std::chrono::milliseconds exchange_timeout) {
    EnrollRequestBuilder build = [request = std::move(request)](SSL*) -> Result<wire::Message> {
        return wire::Message(request);
    };
    const lb::Endpoint endpoint = server.endpoint;
    co_return co_await attempt_enroll_exchange(
        executor, context, endpoint, std::move(build), connect_timeout, exchange_timeout);
}

Result<wire::Message> make_renew_expired(SSL* ssl,
                                         const std::string& certificate_pem,
                                         const std::string& key_pem,
                                         const std::string& csr) {
    auto exporter = tls::renew_expired_exporter(ssl);
    if (!exporter) {
        return fail(exporter.error());
    }
    auto key = certs::parse_private_key_pem(key_pem);
    if (!key) {
        return fail("the expired certificate's key: " + key.error());
    }
    auto signature = certs::sign_channel_proof(key->get(), *exporter, csr);
    if (!signature) {
        return fail(signature.error());
    }
    return wire::Message(wire::RenewExpired{certificate_pem, csr, std::move(*signature)});
}

asio::awaitable<EnrollmentAttempt> attempt_enroll_exchange(asio::any_io_executor executor,
                                                           SSL_CTX* context,
                                                           const lb::Endpoint& endpoint,
                                                           EnrollRequestBuilder build,
                                                           std::chrono::milliseconds connect_timeout,
                                                           std::chrono::milliseconds exchange_timeout) {
    EnrollmentAttempt out;
    error_code ec;
    tcp::resolver resolver(executor);
    tcp::resolver::results_type addresses;
    {
        tls::Deadline deadline(executor, [&resolver] { resolver.cancel(); });
        deadline.expires_after(connect_timeout);
        auto token = asio::redirect_error(asio::use_awaitable, ec);
        const std::string port = std::to_string(endpoint.port);
        addresses = co_await resolver.async_resolve(endpoint.host, port, token);
        if (ec) {
            out.reason = "cannot resolve " + endpoint.host + ": " + ec.message();
            co_return out;
        }
    }
    tcp::socket socket(executor);
    {
        tls::Deadline deadline(socket);
        deadline.expires_after(connect_timeout);
        auto token = asio::redirect_error(asio::use_awaitable, ec);
        co_await asio::async_connect(socket, addresses, token);
        if (ec) {
            out.reason = deadline.expired()
                             ? "TCP connect timed out after " + util::milliseconds_text(connect_timeout)
                             : "TCP connect: " + ec.message();
            co_return out;
        }
    }

    // One deadline for handshake, request and answer: the machine's, from now
    // (the request is made after the handshake, the machine started as of now).
    const auto started = std::chrono::steady_clock::now();
    protocol::EnrollClientMachine machine(exchange_timeout);
    protocol::EnrollClientMachine::Actions next_actions;
    tls::TlsStream stream(std::move(socket), context, tls::Role::client, endpoint.host);
    tls::Deadline deadline(stream);
    deadline.expires_after(exchange_timeout);
    // After the deadline closed the stream: the machine's timeout, else what the stream said.
    const auto ended = [&](const std::string& detail) {
        const auto now = std::chrono::steady_clock::now();
        auto actions = deadline.expired() ? machine.on_timer(now) : protocol::EnrollClientMachine::Actions{};
        return actions.empty() ? machine.on_closed(detail, now) : actions;
    };
    const auto stream_error = [&](const error_code& ec) {
        return stream.last_error_detail().empty() ? ec.message() : stream.last_error_detail();
    };

    ec = co_await stream.handshake();
    if (ec) {
        const std::string verify = tls::describe_verify_failure(stream.native_handle());
        if (!verify.empty()) {
            // A server whose CA is not the pinned one stays refused however often we ask.
            out.final = true;
            out.reason = "the enrollment server is not trusted: " + verify;
            co_return out;
        }
        out.reason = deadline.expired() ? "no answer within " + util::milliseconds_text(exchange_timeout)
                                        : "TLS handshake: " + stream_error(ec);
        stream.close();
        co_return out;
    }
    auto request = build(stream.native_handle());
    if (!request) {
        out.final = true;
        out.reason = "cannot make the request: " + request.error();
        stream.close();
        co_return out;
    }
    next_actions = machine.start(std::move(*request), started);

    std::array<char, 4096> buffer;
    std::optional<protocol::EnrollClientMachine::Close> close;
    while (!close) {
        if (next_actions.empty()) {
            const std::size_t n = co_await stream.read_some(buffer.data(), buffer.size(), ec);
            next_actions = ec ? ended("reading the answer: " + stream_error(ec))
                              : machine.on_bytes(buffer.data(), n, std::chrono::steady_clock::now());
            continue;
        }
        auto action = std::move(next_actions.front());
        next_actions.erase(next_actions.begin());
        if (auto* send = std::get_if<protocol::EnrollClientMachine::Send>(&action)) {
            auto frame = wire::encode_frame(wire::encode_message(send->message));
            if (!frame) {
                out.final = true;
                out.reason = "cannot encode the request: " + frame.error();
                co_return out;
            }
            ec = co_await stream.write_all(frame->data(), frame->size());
            if (ec) {
                next_actions = ended("sending the request: " + ec.message());
            }
        } else {
            close = std::get<protocol::EnrollClientMachine::Close>(std::move(action));
        }
    }
    deadline.cancel();
    if (close->flush_first) {
        co_await stream.shutdown();
    }
    stream.close();
    out.response = std::move(close->response);
    out.final = close->final;
    out.refused = close->reason == protocol::EnrollClientMachine::CloseReason::refused;
    out.reason = std::move(close->detail);
    co_return out;
}

Status check_enrollment_response(const wire::EnrollResponse& response,
                                 const std::string& key_pem,
                                 const std::string& pinned_ca_fingerprint) {
    auto cert = certs::parse_certificate_pem(response.certificate);
    if (!cert) {
        return fail("the server sent an unusable certificate: " + cert.error());
    }
    auto ca_fingerprint = certs::fingerprint_of_pem(response.ca);
    if (!ca_fingerprint) {
        return fail("the server sent an unusable CA certificate: " + ca_fingerprint.error());
    }
    if (!certs::fingerprint_equal(*ca_fingerprint, pinned_ca_fingerprint)) {
        return fail("the CA the server sent (" + *ca_fingerprint + ") is not the pinned one (" +
                    pinned_ca_fingerprint + ")");
    }
    auto key = certs::parse_private_key_pem(key_pem);
    if (!key || !certs::key_matches_certificate(key->get(), cert->get())) {
        return fail("the certificate the server sent is not for our key");
    }
    if (auto verified =
            certs::verify_certificate_chain(cert->get(), response.ca, response.chain, util::unix_now());
        !verified) {
        return fail("the certificate the server sent does not verify: " + verified.error());
    }
    if (certs::common_name_of(cert->get()) != response.name) {
        return fail("the certificate names \"" + util::peer_text(certs::common_name_of(cert->get())) +
                    "\", not the enrolled name \"" + util::peer_text(response.name) + "\"");
    }
    if (response.host_id <= 0) {
        return fail("the server sent no host id");
    }
    // The bounds of `agentlbctl config set`: anything else would become a timer that overflows.
    if (response.interval < 0 || response.interval > lb::kMaxCheckInterval) {
        return fail("the server sent a check interval of " + std::to_string(response.interval) +
                    " s, out of range (0 to " + std::to_string(lb::kMaxCheckInterval) + ")");
    }
    return success();
}

Status store_enrollment(AgentStateFile& state,
                        const wire::EnrollResponse& response,
                        const std::string& key_pem) {
    const fs::path folder = state.path().parent_path();
    std::error_code ec;
    if (!folder.empty() && !fs::exists(folder, ec)) {
        fs::create_directories(folder, ec);
        if (ec) {
            return fail("cannot create " + printable_path(folder) + ": " + ec.message());
        }
    }
    const AgentSettings& paths = state.settings();
    if (auto saved = store_enrolled_key_and_ca(paths, key_pem, response.ca); !saved) {
        return saved;
    }
    EnrollmentRecord record{response.host_id,
                            response.name,
                            response.zone,
                            ListUpdate{{response.list, response.algorithm}, response.interval}};
    if (auto saved = state.save_enrollment(record); !saved) {
        return saved;
    }
    // The chain stays beside the leaf, in the same file: written together, never out of step.
    return store_enrolled_certificate(paths, response.certificate + response.chain);
}

}  // namespace agentlb::agent
