#include "common/tls/socket_bio.hpp"

#include <openssl/bio.h>

#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/types.h>

namespace agentlb::tls {

namespace {

int fd_of(BIO* bio) {
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

long socket_ctrl(BIO* bio, int command, long /*number*/, void* /*pointer*/) {
    switch (command) {
        case BIO_CTRL_FLUSH:
            return 1;  // nothing is buffered here
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

const BIO_METHOD* socket_method() {
    static const BIO_METHOD* const method = [] {
        BIO_METHOD* m =
            BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "agentlb socket");
        if (m == nullptr || BIO_meth_set_write_ex(m, socket_write) != 1 ||
            BIO_meth_set_read_ex(m, socket_read) != 1 || BIO_meth_set_ctrl(m, socket_ctrl) != 1 ||
            BIO_meth_set_create(m, socket_create) != 1 || BIO_meth_set_destroy(m, socket_destroy) != 1) {
            throw std::runtime_error("OpenSSL: cannot create the socket BIO method");
        }
        return m;  // lives as long as the process
    }();
    return method;
}

}  // namespace

BIO* new_socket_bio(int fd) {
    BIO* bio = BIO_new(socket_method());
    if (bio == nullptr) {
        return nullptr;
    }
    BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
    BIO_set_init(bio, 1);
    return bio;
}

}  // namespace agentlb::tls
