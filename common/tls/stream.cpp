#include "common/tls/stream.hpp"

#include "common/tls/deadline.hpp"
#include "common/tls/socket_bio.hpp"
#include "common/tls/ssl_error.hpp"
#include "common/tls/timeouts.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <new>
#include <stdexcept>
#include <utility>

namespace agentlb::tls {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

void SslDeleter::operator()(SSL* ssl) const noexcept {
    SSL_free(ssl);
}

TlsStream::TlsStream(tcp::socket socket, SSL_CTX* ctx, Role role, std::string_view expected_server)
    : socket_(std::move(socket)) {
    ERR_clear_error();
    ssl_.reset(SSL_new(ctx));
    if (!ssl_) {
        throw std::bad_alloc();
    }
    // OpenSSL reads and writes the descriptor itself; Asio only reports readiness.
    socket_.non_blocking(true);
    error_code ignored;
    // One frame is one SSL_write: Nagle would only delay the next small frame.
    socket_.set_option(tcp::no_delay(true), ignored);
    // Not SSL_set_fd: its BIO writes with write(2), which raises SIGPIPE.
    // A client keeps the server's first bytes: they may be a push-back line.
    BIO* bio = new_socket_bio(static_cast<int>(socket_.native_handle()), role == Role::client);
    if (bio == nullptr) {
        throw std::bad_alloc();
    }
    SSL_set_bio(ssl_.get(), bio, bio);  // one reference, owned by the SSL from here
    if (role == Role::client) {
        SSL_set_connect_state(ssl_.get());
        auto status = set_expected_server(ssl_.get(), expected_server);
        if (!status) {
            throw std::invalid_argument(status.error());
        }
    } else {
        SSL_set_accept_state(ssl_.get());
    }
}

TlsStream::~TlsStream() = default;

asio::awaitable<error_code> TlsStream::wait(tcp::socket::wait_type what) {
    error_code ec;
    // Named token: GCC 12 can mishandle temporaries inside co_await (PR 100611).
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    co_await socket_.async_wait(what, token);
    // The wait may have completed just before close(): the descriptor number
    // may already belong to another connection, so never hand it to OpenSSL.
    if (!ec && closed_) {
        ec = asio::error::operation_aborted;
    }
    co_return ec;
}

asio::awaitable<error_code> TlsStream::handshake() {
    // OpenSSL allocates its record buffers when the handshake starts: a server
    // waits for the ClientHello first, so that connections that send nothing
    // (until their deadline closes them) cost no buffers.
    if (SSL_is_server(ssl_.get()) == 1 && SSL_in_before(ssl_.get()) == 1) {
        if (const error_code ec = co_await wait(tcp::socket::wait_read)) {
            co_return ec;
        }
    }
    for (;;) {
        if (closed_) {
            co_return asio::error::operation_aborted;
        }
        ERR_clear_error();
        errno = 0;
        const int ret = SSL_do_handshake(ssl_.get());
        if (ret == 1) {
            co_return error_code{};
        }
        const int saved_errno = errno;
        const int ssl_error = SSL_get_error(ssl_.get(), ret);
        error_code ec;
        if (ssl_error == SSL_ERROR_WANT_READ) {
            ec = co_await wait(tcp::socket::wait_read);
        } else if (ssl_error == SSL_ERROR_WANT_WRITE) {
            ec = co_await wait(tcp::socket::wait_write);
        } else {
            co_return on_failure(ssl_error, saved_errno);
        }
        if (ec) {
            co_return ec;
        }
    }
}

asio::awaitable<std::size_t> TlsStream::read_some(void* buf, std::size_t n, error_code& ec) {
    ec = {};
    if (n == 0) {
        co_return 0;
    }
    // Data OpenSSL already holds (the rest of a record larger than the last
    // buffer) does not make the socket readable again: read it first.
    bool must_wait = SSL_has_pending(ssl_.get()) == 0;
    auto want = tcp::socket::wait_read;
    for (;;) {
        if (closed_) {
            ec = asio::error::operation_aborted;
            co_return 0;
        }
        if (must_wait) {
            ec = co_await wait(want);
            if (ec) {
                co_return 0;
            }
        }
        const std::size_t got = read_now(buf, n, ec, want);
        if (ec != asio::error::would_block) {
            co_return got;
        }
        must_wait = true;
    }
}

asio::awaitable<error_code> TlsStream::write_all(const void* data, std::size_t n) {
    for (;;) {
        // Without SSL_MODE_ENABLE_PARTIAL_WRITE this succeeds only once all n
        // bytes are out; a retry after would_block passes the same arguments.
        auto want = tcp::socket::wait_write;
        const error_code ec = write_now(data, n, want);
        if (ec != asio::error::would_block) {
            co_return ec;
        }
        if (const error_code waited = co_await wait(want)) {
            co_return waited;
        }
    }
}

asio::awaitable<void> TlsStream::shutdown() {
    if (closed_ || fatal_ || SSL_is_init_finished(ssl_.get()) == 0) {
        co_return;
    }
    Deadline deadline(*this);
    deadline.expires_after(kShutdownTimeout);
    for (;;) {
        ERR_clear_error();
        const int ret = SSL_shutdown(ssl_.get());
        if (ret >= 0) {
            break;  // close_notify is out (0), or both sides sent theirs (1)
        }
        if (SSL_get_error(ssl_.get(), ret) != SSL_ERROR_WANT_WRITE) {
            break;  // nothing more to do for a courtesy
        }
        const error_code ec = co_await wait(tcp::socket::wait_write);
        if (ec || closed_) {
            break;
        }
    }
    deadline.cancel();
    ERR_clear_error();
}

std::size_t TlsStream::read_now(void* buf, std::size_t n, error_code& ec, tcp::socket::wait_type& want) {
    ec = {};
    if (closed_) {
        ec = asio::error::operation_aborted;
        return 0;
    }
    if (n == 0) {
        return 0;
    }
    ERR_clear_error();
    errno = 0;
    std::size_t got = 0;
    const int ret = SSL_read_ex(ssl_.get(), buf, n, &got);
    if (ret == 1) {
        return got;
    }
    ec = unfinished(ret, want);
    return 0;
}

error_code TlsStream::write_now(const void* data, std::size_t n, tcp::socket::wait_type& want) {
    if (n == 0) {
        return {};
    }
    if (closed_) {
        return asio::error::operation_aborted;
    }
    ERR_clear_error();
    errno = 0;
    std::size_t written = 0;
    const int ret = SSL_write_ex(ssl_.get(), data, n, &written);
    if (ret == 1) {
        return {};
    }
    return unfinished(ret, want);
}

error_code TlsStream::flush_now(tcp::socket::wait_type& want) {
    if (closed_) {
        return asio::error::operation_aborted;
    }
    if (SSL_in_init(ssl_.get()) == 0) {
        return {};
    }
    ERR_clear_error();
    errno = 0;
    const int ret = SSL_do_handshake(ssl_.get());
    if (ret == 1) {
        // Writing a post-handshake message (a ticket) set up both record
        // buffers again; the read buffer (about 17 KiB) would stay on an idle
        // session until its next record. OpenSSL refuses (0) while either
        // holds data, so nothing pending is lost.
        SSL_free_buffers(ssl_.get());
        return {};
    }
    return unfinished(ret, want);
}

bool TlsStream::has_pending() const noexcept {
    return !closed_ && SSL_has_pending(ssl_.get()) == 1;
}

void TlsStream::shutdown_now() noexcept {
    if (closed_ || fatal_ || SSL_is_init_finished(ssl_.get()) == 0) {
        return;
    }
    ERR_clear_error();
    SSL_shutdown(ssl_.get());
    ERR_clear_error();
}

void TlsStream::close() noexcept {
    if (closed_) {
        return;
    }
    closed_ = true;
    error_code ignored;
    socket_.close(ignored);
}

std::optional<protocol::PushBack> TlsStream::push_back() const {
    return protocol::parse_push_back(captured_bytes(SSL_get_rbio(ssl_.get())));
}

bool TlsStream::resumed() const noexcept {
    return SSL_session_reused(ssl_.get()) == 1;
}

error_code TlsStream::unfinished(int ret, tcp::socket::wait_type& want) {
    const int saved_errno = errno;
    const int ssl_error = SSL_get_error(ssl_.get(), ret);
    if (ssl_error == SSL_ERROR_WANT_READ || ssl_error == SSL_ERROR_WANT_WRITE) {
        want = ssl_error == SSL_ERROR_WANT_READ ? tcp::socket::wait_read : tcp::socket::wait_write;
        return asio::error::would_block;
    }
    return on_failure(ssl_error, saved_errno);
}

error_code TlsStream::on_failure(int ssl_error, int saved_errno) {
    SslFailure failure = describe_ssl_failure(ssl_.get(), ssl_error, saved_errno);
    detail_ = std::move(failure.detail);
    if (failure.fatal) {
        fatal_ = true;
    }
    return failure.code;
}

}  // namespace agentlb::tls
