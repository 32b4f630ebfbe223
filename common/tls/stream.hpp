#pragma once

// A TLS session on a TCP socket that holds no buffer of its own while idle.
//
// asio::ssl::stream keeps ~68 KiB of fixed buffers per stream; at 100,000 idle
// agents that dominates memory. TlsStream instead runs OpenSSL directly on the
// socket's file descriptor (a BIO of ours that sends with MSG_NOSIGNAL; non-blocking socket) and waits for
// readiness with socket.async_wait() whenever OpenSSL asks to read or write.
// With SSL_MODE_RELEASE_BUFFERS (set by the contexts of context.hpp) an idle
// session then costs what OpenSSL itself needs: a reader first waits until the
// socket is readable and only then calls SSL_read into the caller's buffer.
//
// Concurrency: one reader coroutine and one writer coroutine may use a stream
// at the same time, on one strand or single-threaded executor. Every SSL call
// completes without suspending, so they never overlap. Timeouts are the
// caller's: see deadline.hpp.

#include "common/protocol/push_back.hpp"
#include "common/tls/context.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <openssl/types.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace agentlb::tls {

enum class Role { client, server };

struct SslDeleter {
    void operator()(SSL* ssl) const noexcept;
};
using SslPtr = std::unique_ptr<SSL, SslDeleter>;

class TlsStream {
public:
    // `socket` must be connected. A client names the server it dialled
    // ("host", "host:port", "1.2.3.4:port", "[v6]:port"); the server's
    // certificate must carry that name or IP (see set_expected_server()).
    // Throws std::invalid_argument when a client gives no usable name, and
    // std::bad_alloc when OpenSSL cannot allocate the session.
    TlsStream(boost::asio::ip::tcp::socket socket,
              SSL_CTX* ctx,
              Role role,
              std::string_view expected_server = {});
    ~TlsStream();

    // Pending operations refer to the stream: it does not move.
    TlsStream(const TlsStream&) = delete;
    TlsStream& operator=(const TlsStream&) = delete;

    // Errors are in boost::asio::error::get_ssl_category() (OpenSSL's packed
    // error code), the system category, or operation_aborted after close().
    boost::asio::awaitable<boost::system::error_code> handshake();

    // Reads up to n bytes (at least one) into buf. A close by the peer, with or
    // without close_notify, is boost::asio::error::eof. The buffer is only
    // touched once data is there, so it can be a per-thread buffer.
    boost::asio::awaitable<std::size_t> read_some(void* buf, std::size_t n, boost::system::error_code& ec);

    // Writes all n bytes; data must stay valid until it completes.
    boost::asio::awaitable<boost::system::error_code> write_all(const void* data, std::size_t n);

    // Best effort: sends close_notify if the session is healthy, waiting at
    // most kShutdownTimeout for the socket to take it (closing it otherwise).
    // Does not wait for the peer's close_notify and does not close the socket.
    // A client that closes without it cannot resume the session later:
    // OpenSSL marks the session of an unclean close as not resumable.
    boost::asio::awaitable<void> shutdown();

    // Non-suspending variants for a session that keeps no coroutine while it
    // waits (see mgmt/agent_session.hpp): each makes one attempt and, when
    // OpenSSL first needs the socket to be ready, returns
    // boost::asio::error::would_block and sets `want` to what to wait for
    // (socket().async_wait(want, ...)) before trying again. A write retried
    // after would_block must pass the same data and size. Errors are those of
    // read_some() and write_all(); operation_aborted once closed.
    std::size_t read_now(void* buf,
                         std::size_t n,
                         boost::system::error_code& ec,
                         boost::asio::ip::tcp::socket::wait_type& want);
    boost::system::error_code write_now(const void* data,
                                        std::size_t n,
                                        boost::asio::ip::tcp::socket::wait_type& want);
    // Whether OpenSSL holds received bytes not yet returned by a read: they
    // do not make the socket readable again.
    bool has_pending() const noexcept;
    // Sends close_notify if the socket takes it at once; never waits.
    void shutdown_now() noexcept;
    // Writes what OpenSSL queued outside a write (a session ticket asked
    // for with request_session_ticket()): one attempt, as write_now(); no
    // error when nothing was queued. Once written, OpenSSL's record buffers
    // are released (SSL_free_buffers): an idle session keeps none.
    boost::system::error_code flush_now(boost::asio::ip::tcp::socket::wait_type& want);

    // Closes the socket, which ends pending operations with operation_aborted.
    // Idempotent; no SSL call touches the descriptor afterwards.
    void close() noexcept;
    bool is_open() const noexcept { return !closed_; }

    // A person-readable reason for the last failure, e.g. "peer did not return
    // a certificate" or "certificate verify failed: client certificate revoked
    // (serial a1b)". Empty when nothing failed.
    const std::string& last_error_detail() const noexcept { return detail_; }

    // A client's: the server answered with a push-back line instead of TLS
    // (common/protocol/push_back.hpp: too many handshakes in progress there).
    // Check it after a failed handshake; nullopt for a server's stream and
    // for anything else the server sent.
    std::optional<protocol::PushBack> push_back() const;

    // True when the handshake resumed an earlier session: certificate
    // callbacks did not run, so callers check the peer again (peer_certificate()).
    bool resumed() const noexcept;

    SSL* native_handle() noexcept { return ssl_.get(); }
    boost::asio::ip::tcp::socket& socket() noexcept { return socket_; }
    boost::asio::any_io_executor get_executor() { return socket_.get_executor(); }

private:
    // Waits until the socket is ready; operation_aborted when closed meanwhile.
    boost::asio::awaitable<boost::system::error_code> wait(boost::asio::ip::tcp::socket::wait_type what);
    // Turns the outcome of a failed SSL call into an error code and detail_.
    // Must run right after the call, before any suspension.
    boost::system::error_code on_failure(int ssl_error, int saved_errno);
    // The outcome of a non-suspending SSL call that returned `ret` (not 1):
    // would_block with what to wait for in `want`, or on_failure's error.
    // Must run right after the call (it reads errno).
    boost::system::error_code unfinished(int ret, boost::asio::ip::tcp::socket::wait_type& want);

    boost::asio::ip::tcp::socket socket_;
    SslPtr ssl_;
    std::string detail_;
    bool closed_ = false;
    // After a fatal error OpenSSL forbids SSL_shutdown().
    bool fatal_ = false;
};

}  // namespace agentlb::tls
