#include "common/tls/socket_bio.hpp"

#include "common/protocol/push_back.hpp"

#include <openssl/bio.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <new>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/types.h>

namespace agentlb::tls {

namespace {

// A capturing BIO's data; a plain BIO's data is the descriptor itself.
struct Capture {
    int fd = -1;
    std::array<char, kCapturedBytes> bytes{};
    std::size_t size = 0;    // received
    std::size_t served = 0;  // handed to OpenSSL
    bool complete = false;   // nothing more is captured
};

struct Methods {
    const BIO_METHOD* plain;
    const BIO_METHOD* capture;
    int capture_type;
};
const Methods& methods();

Capture* capture_of(BIO* bio) {
    return BIO_method_type(bio) == methods().capture_type ? static_cast<Capture*>(BIO_get_data(bio))
                                                          : nullptr;
}

int fd_of(BIO* bio) {
    if (const Capture* capture = capture_of(bio)) {
        return capture->fd;
    }
    return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio)));
}

bool would_block(int error) {
    return error == EAGAIN || error == EWOULDBLOCK;
}

int socket_write(BIO* bio, const char* data, std::size_t size, std::size_t* written) {
    BIO_clear_retry_flags(bio);
    *written = 0;
    for (;;) {
        const ssize_t n = ::send(fd_of(bio), data, size, MSG_NOSIGNAL);
        if (n >= 0) {
            *written = static_cast<std::size_t>(n);
            return 1;
        }
        if (errno == EINTR) {
            continue;
        }
        if (would_block(errno)) {
            BIO_set_retry_write(bio);
        }
        return 0;  // errno tells SSL_ERROR_SYSCALL's caller what happened
    }
}

int socket_read(BIO* bio, char* data, std::size_t size, std::size_t* read) {
    BIO_clear_retry_flags(bio);
    *read = 0;
    for (;;) {
        const ssize_t n = ::recv(fd_of(bio), data, size, 0);
        if (n > 0) {
            *read = static_cast<std::size_t>(n);
            return 1;
        }
        if (n == 0) {
            // OpenSSL asks BIO_eof() to tell a close without close_notify
            // (SSL_R_UNEXPECTED_EOF_WHILE_READING) from other failures.
            BIO_set_flags(bio, BIO_FLAGS_IN_EOF);
            return 0;
        }
        if (errno == EINTR) {
            continue;
        }
        if (would_block(errno)) {
            BIO_set_retry_read(bio);
        }
        return 0;
    }
}

// Fills the capture until it is complete; false (retry set or errno kept)
// while OpenSSL must wait.
bool fill_capture(BIO* bio, Capture& capture) {
    while (!capture.complete) {
        const ssize_t n =
            ::recv(capture.fd, capture.bytes.data() + capture.size, capture.bytes.size() - capture.size, 0);
        if (n > 0) {
            capture.size += static_cast<std::size_t>(n);
            // Only the start of a push-back line waits for more: a TLS record
            // (or anything else) goes to OpenSSL at once.
            capture.complete = capture.size == capture.bytes.size() ||
                               !protocol::push_back_incomplete({capture.bytes.data(), capture.size});
            continue;
        }
        if (n == 0) {
            capture.complete = true;  // EOF: what came is all there is (the next recv says EOF again)
            break;
        }
        if (errno == EINTR) {
            continue;
        }
        if (would_block(errno)) {
            BIO_set_retry_read(bio);
        }
        return false;
    }
    return true;
}

int capture_read(BIO* bio, char* data, std::size_t size, std::size_t* read) {
    BIO_clear_retry_flags(bio);
    *read = 0;
    Capture& capture = *static_cast<Capture*>(BIO_get_data(bio));
    if (!fill_capture(bio, capture)) {
        return 0;
    }
    if (capture.served < capture.size) {
        const std::size_t n = std::min(size, capture.size - capture.served);
        std::memcpy(data, capture.bytes.data() + capture.served, n);
        capture.served += n;
        *read = n;
        return 1;
    }
    return socket_read(bio, data, size, read);
}

long socket_ctrl(BIO* bio, int command, long /*number*/, void* /*pointer*/) {
    switch (command) {
        case BIO_CTRL_FLUSH:
            return 1;  // nothing is buffered here
        case BIO_CTRL_PENDING:
            if (const Capture* capture = capture_of(bio)) {
                return static_cast<long>(capture->size - capture->served);
            }
            return 0;
        case BIO_CTRL_EOF:
            return BIO_test_flags(bio, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
        default:
            return 0;
    }
}

int socket_create(BIO* /*bio*/) {
    return 1;
}

// The Asio socket owns the descriptor.
int socket_destroy(BIO* /*bio*/) {
    return 1;
}

int capture_destroy(BIO* bio) {
    delete static_cast<Capture*>(BIO_get_data(bio));
    BIO_set_data(bio, nullptr);
    return 1;
}

BIO_METHOD* make_method(const char* name,
                        int& type,
                        int (*read)(BIO*, char*, std::size_t, std::size_t*),
                        int (*destroy)(BIO*)) {
    type = BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR;
    BIO_METHOD* m = BIO_meth_new(type, name);
    if (m == nullptr || BIO_meth_set_write_ex(m, socket_write) != 1 || BIO_meth_set_read_ex(m, read) != 1 ||
        BIO_meth_set_ctrl(m, socket_ctrl) != 1 || BIO_meth_set_create(m, socket_create) != 1 ||
        BIO_meth_set_destroy(m, destroy) != 1) {
        throw std::runtime_error("OpenSSL: cannot create the socket BIO method");
    }
    return m;  // lives as long as the process
}

// Both made once, together: capture_of() reads the type on every write.
const Methods& methods() {
    static const Methods made = [] {
        Methods m{};
        int plain_type = 0;
        m.plain = make_method("agentlb socket", plain_type, socket_read, socket_destroy);
        m.capture =
            make_method("agentlb socket (first bytes kept)", m.capture_type, capture_read, capture_destroy);
        return m;
    }();
    return made;
}

}  // namespace

BIO* new_socket_bio(int fd, bool capture_first_bytes) {
    if (capture_first_bytes) {
        auto* capture = new (std::nothrow) Capture;
        if (capture == nullptr) {
            return nullptr;
        }
        capture->fd = fd;
        BIO* bio = BIO_new(methods().capture);
        if (bio == nullptr) {
            delete capture;
            return nullptr;
        }
        BIO_set_data(bio, capture);
        BIO_set_init(bio, 1);
        return bio;
    }
    BIO* bio = BIO_new(methods().plain);
    if (bio == nullptr) {
        return nullptr;
    }
    BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
    BIO_set_init(bio, 1);
    return bio;
}

std::string_view captured_bytes(BIO* bio) {
    const Capture* capture = bio == nullptr ? nullptr : capture_of(bio);
    if (capture == nullptr) {
        return {};
    }
    return {capture->bytes.data(), capture->size};
}

}  // namespace agentlb::tls
