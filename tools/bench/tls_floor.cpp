#include "tools/bench/tls_floor.hpp"

#include "certs/handles.hpp"
#include "common/tls/context.hpp"
#include "common/tls/socket_bio.hpp"
#include "common/tls/stream.hpp"
#include "tools/bench/proc_stats.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <malloc.h>
#include <memory>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
// From libasan (GCC ships no header for it).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace agentlb::bench {

namespace {

struct Fd {
    int fd = -1;
    Fd() = default;
    explicit Fd(int f) : fd(f) {}
    Fd(Fd&& other) noexcept : fd(other.fd) { other.fd = -1; }
    Fd& operator=(Fd&& other) noexcept {
        reset();
        fd = other.fd;
        other.fd = -1;
        return *this;
    }
    ~Fd() { reset(); }
    void reset() {
        if (fd >= 0) {
            ::close(fd);
            fd = -1;
        }
    }
};

struct ServerSide {
    Fd fd;
    tls::SslPtr ssl;
    bool resumed = false;
};

std::int64_t heap_in_use() {
#if defined(__SANITIZE_ADDRESS__)
    // AddressSanitizer has its own allocator: glibc's counters stay at zero.
    return static_cast<std::int64_t>(__sanitizer_get_current_allocated_bytes());
#else
    const struct mallinfo2 info = ::mallinfo2();
    return static_cast<std::int64_t>(info.uordblks + info.hblkhd);
#endif
}

std::int64_t own_rss() {
    return resident_bytes(::getpid()).value_or(0);
}

// CPU time of this thread: the client side runs on it too, so only the
// server's calls are added up.
double thread_cpu_us() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// Runs one server-side call and adds its CPU time to `spent`.
template <class Call>
int timed(double& spent, Call call) {
    const double start = thread_cpu_us();
    const int ret = call();
    spent += thread_cpu_us() - start;
    return ret;
}

bool progressing(int ret, SSL* ssl) {
    if (ret == 1) {
        return true;
    }
    const int error = SSL_get_error(ssl, ret);
    return error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE;
}

enum class TicketMode { none, after_kept, after_released };

// One session: handshake, hello-sized record in, welcome-sized record out.
Result<ServerSide> open_session(SSL_CTX* server_ctx,
                                SSL_CTX* client_ctx,
                                bool release_buffers,
                                TicketMode ticket_mode,
                                double& server_us,
                                SSL_SESSION* offer = nullptr,
                                SSL_SESSION** ticket_out = nullptr) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
        return fail(std::string("socketpair: ") + std::strerror(errno));
    }
    ServerSide server{Fd(fds[0]), nullptr};
    Fd client_fd(fds[1]);
    ERR_clear_error();
    server.ssl.reset(SSL_new(server_ctx));
    tls::SslPtr client(SSL_new(client_ctx));
    if (!server.ssl || !client) {
        return fail("SSL_new: out of memory");
    }
    if (!release_buffers) {
        SSL_clear_mode(server.ssl.get(), SSL_MODE_RELEASE_BUFFERS);
    }
    BIO* server_bio = tls::new_socket_bio(server.fd.fd);
    BIO* client_bio = tls::new_socket_bio(client_fd.fd);
    if (server_bio == nullptr || client_bio == nullptr) {
        BIO_free(server_bio);
        BIO_free(client_bio);
        return fail("BIO: out of memory");
    }
    SSL_set_bio(server.ssl.get(), server_bio, server_bio);
    SSL_set_bio(client.get(), client_bio, client_bio);
    SSL_set_accept_state(server.ssl.get());
    SSL_set_connect_state(client.get());
    if (offer != nullptr && SSL_set_session(client.get(), offer) != 1) {
        return fail(certs::openssl_failure("client: offering the ticket"));
    }
    if (auto status = tls::set_expected_server(client.get(), "127.0.0.1"); !status) {
        return fail(status.error());
    }
    bool server_done = false;
    bool client_done = false;
    for (int round = 0; round < 64 && !(server_done && client_done); ++round) {
        if (!client_done) {
            const int ret = SSL_do_handshake(client.get());
            client_done = ret == 1;
            if (!progressing(ret, client.get())) {
                return fail(certs::openssl_failure("client handshake"));
            }
        }
        if (!server_done) {
            const int ret = timed(server_us, [&] { return SSL_do_handshake(server.ssl.get()); });
            server_done = ret == 1;
            if (!progressing(ret, server.ssl.get())) {
                return fail(certs::openssl_failure("server handshake: " +
                                                   tls::describe_verify_failure(server.ssl.get())));
            }
        }
    }
    if (!server_done || !client_done) {
        return fail("handshake did not finish");
    }
    std::array<char, 128> hello{};
    std::memset(hello.data(), 'h', 80);
    std::array<char, 512> buffer{};
    std::size_t n = 0;
    if (SSL_write_ex(client.get(), hello.data(), 80, &n) != 1) {
        return fail(certs::openssl_failure("client write"));
    }
    if (timed(server_us, [&] { return SSL_read_ex(server.ssl.get(), buffer.data(), buffer.size(), &n); }) !=
            1 ||
        n != 80) {
        return fail(certs::openssl_failure("server read"));
    }
    std::memset(hello.data(), 'w', hello.size());
    if (timed(server_us, [&] { return SSL_write_ex(server.ssl.get(), hello.data(), hello.size(), &n); }) !=
        1) {
        return fail(certs::openssl_failure("server write"));
    }
    if (ticket_mode != TicketMode::none) {
        SSL_SESSION_set_timeout(SSL_get_session(server.ssl.get()), 3600);
        if (timed(server_us, [&] { return SSL_new_session_ticket(server.ssl.get()); }) != 1 ||
            timed(server_us, [&] { return SSL_do_handshake(server.ssl.get()); }) != 1) {
            return fail(certs::openssl_failure("server ticket"));
        }
        // Writing the ticket set up both record buffers again: release them
        // as agentlb's TlsStream::flush_now() does (else the read buffer,
        // about 17 KiB, stays until the next record arrives).
        if (ticket_mode == TicketMode::after_released && SSL_free_buffers(server.ssl.get()) != 1) {
            return fail("server: SSL_free_buffers refused after the ticket");
        }
    }
    // The client takes the ticket and the record; then its side goes away.
    if (SSL_read_ex(client.get(), buffer.data(), buffer.size(), &n) != 1) {
        return fail(certs::openssl_failure("client read"));
    }
    server.resumed = SSL_session_reused(server.ssl.get()) == 1;
    if (ticket_out != nullptr) {
        // The ticket follows the record: one more read processes it.
        SSL_read_ex(client.get(), buffer.data(), buffer.size(), &n);
        ERR_clear_error();
        // A copy: freeing the client without close_notify spoils its own.
        *ticket_out = SSL_SESSION_dup(SSL_get_session(client.get()));
    }
    return server;
}

Result<FloorFigures> measure(SSL_CTX* server_ctx,
                             SSL_CTX* client_ctx,
                             int sessions,
                             bool release_buffers,
                             TicketMode ticket_mode,
                             double& server_us) {
    // Warm-up: OpenSSL allocates caches on first use (providers, methods).
    double ignored = 0;
    for (int i = 0; i < 8; ++i) {
        auto warm = open_session(server_ctx, client_ctx, release_buffers, ticket_mode, ignored);
        if (!warm) {
            return fail(warm.error());
        }
    }
    ::malloc_trim(0);
    std::vector<ServerSide> held;
    held.reserve(static_cast<std::size_t>(sessions));
    const std::int64_t heap_before = heap_in_use();
    const std::int64_t rss_before = own_rss();
    for (int i = 0; i < sessions; ++i) {
        auto session = open_session(server_ctx, client_ctx, release_buffers, ticket_mode, server_us);
        if (!session) {
            return fail("session " + std::to_string(i + 1) + ": " + session.error());
        }
        held.push_back(std::move(session).value());
    }
    const std::int64_t heap_after = heap_in_use();
    const std::int64_t rss_after = own_rss();
    FloorFigures figures;
    figures.heap_per_session = static_cast<double>(heap_after - heap_before) / sessions;
    figures.rss_per_session = static_cast<double>(rss_after - rss_before) / sessions;
    held.clear();
    ::malloc_trim(0);
    return figures;
}

}  // namespace

Result<FloorResult> measure_tls_floor(const FloorInputs& inputs) {
    auto server_ctx = tls::make_agent_port_server_context(
        tls::AgentPortServerConfig{inputs.ca_pem, inputs.server_cert_pem, inputs.server_key_pem, nullptr});
    if (!server_ctx) {
        return fail("floor: " + server_ctx.error());
    }
    auto client_ctx = tls::make_agent_client_context(
        tls::AgentClientConfig{inputs.ca_pem, inputs.agent_cert_pem, inputs.agent_key_pem});
    if (!client_ctx) {
        return fail("floor: " + client_ctx.error());
    }
    FloorResult result;
    result.sessions = inputs.sessions < 1 ? 1 : inputs.sessions;
    double server_us = 0;
    auto with =
        measure(server_ctx->get(), client_ctx->get(), result.sessions, true, TicketMode::none, server_us);
    if (!with) {
        return fail("floor with SSL_MODE_RELEASE_BUFFERS: " + with.error());
    }
    result.server_handshake_us = server_us / result.sessions;
    double unused = 0;
    auto without =
        measure(server_ctx->get(), client_ctx->get(), result.sessions, false, TicketMode::none, unused);
    if (!without) {
        return fail("floor without SSL_MODE_RELEASE_BUFFERS: " + without.error());
    }
    double after_us = 0;
    auto ticketed = measure(
        server_ctx->get(), client_ctx->get(), result.sessions, true, TicketMode::after_released, after_us);
    if (!ticketed) {
        return fail("floor with a ticket after the handshake: " + ticketed.error());
    }
    result.ticket_after_handshake = *ticketed;
    result.server_handshake_us_ticket_after = after_us / result.sessions;
    double kept_us = 0;
    auto kept =
        measure(server_ctx->get(), client_ctx->get(), result.sessions, true, TicketMode::after_kept, kept_us);
    if (!kept) {
        return fail("floor with a ticket after the handshake, buffers kept: " + kept.error());
    }
    result.ticket_after_handshake_buffers_kept = *kept;
    // One ticket per handshake, as a server that offers resumption would:
    // memory figures of this pass are not kept, only its CPU time.
    SSL_CTX_set_num_tickets(server_ctx->get(), 1);
    double with_ticket_us = 0;
    const int timing_sessions = std::min(result.sessions, 500);
    if (auto pass = measure(
            server_ctx->get(), client_ctx->get(), timing_sessions, true, TicketMode::none, with_ticket_us);
        !pass) {
        return fail("floor with a session ticket: " + pass.error());
    }
    result.server_handshake_us_with_ticket = with_ticket_us / timing_sessions;
    // Resumed handshakes: each from the ticket of a session made just before
    // (sent after the handshake, as agentlb sends it); only the resumed
    // session's server CPU is counted.
    SSL_CTX_set_num_tickets(server_ctx->get(), 0);
    double resumed_us = 0;
    for (int i = 0; i < timing_sessions; ++i) {
        double ignored = 0;
        SSL_SESSION* ticket = nullptr;
        auto first = open_session(server_ctx->get(),
                                  client_ctx->get(),
                                  true,
                                  TicketMode::after_released,
                                  ignored,
                                  nullptr,
                                  &ticket);
        std::unique_ptr<SSL_SESSION, decltype(&SSL_SESSION_free)> kept(ticket, SSL_SESSION_free);
        if (!first || !kept) {
            return fail("floor resumption: no ticket" + (first ? std::string() : ": " + first.error()));
        }
        auto again = open_session(
            server_ctx->get(), client_ctx->get(), true, TicketMode::none, resumed_us, kept.get());
        if (!again || !again->resumed) {
            return fail("floor resumption: the ticket did not resume" +
                        (again ? std::string() : ": " + again.error()));
        }
    }
    result.server_resumed_handshake_us = resumed_us / timing_sessions;
    result.release_buffers = *with;
    result.kept_buffers = *without;
    return result;
}

}  // namespace agentlb::bench
