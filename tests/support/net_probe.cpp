#include "tests/support/net_probe.hpp"

#include "tests/support/wait.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <netinet/in.h>
#include <poll.h>
#include <sstream>
#include <sys/socket.h>
#include <unistd.h>

namespace agentlb::test {

namespace {

// A connected blocking socket with send/receive timeouts, or -1.
int connect_loopback(std::uint16_t port, std::chrono::milliseconds timeout) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

struct Fd {
    int fd;
    ~Fd() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

}  // namespace

IdleConnection::IdleConnection(std::uint16_t port, const std::string& bytes)
    : fd_(connect_loopback(port, std::chrono::seconds(3))) {
    if (fd_ >= 0 && !bytes.empty() &&
        ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(bytes.size())) {
        ::close(fd_);
        fd_ = -1;
    }
}

IdleConnection::~IdleConnection() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

bool IdleConnection::closed_by_server() const {
    if (fd_ < 0) {
        return true;
    }
    char byte = 0;
    const auto n = ::recv(fd_, &byte, 1, MSG_DONTWAIT | MSG_PEEK);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

namespace {

std::string ssl_errors() {
    std::string text;
    while (const auto code = ERR_get_error()) {
        char buffer[256];
        ERR_error_string_n(code, buffer, sizeof(buffer));
        text += text.empty() ? "" : "; ";
        text += buffer;
    }
    return text;
}

struct SslCtxFree {
    void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
};
struct SslFree {
    void operator()(SSL* p) const { SSL_free(p); }
};
struct BioFree {
    void operator()(BIO* p) const { BIO_free(p); }
};
struct X509Free {
    void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};

}  // namespace

bool server_closes(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout) {
    Fd socket{connect_loopback(port, timeout)};
    if (socket.fd < 0) {
        return false;
    }
    if (!bytes.empty() && ::send(socket.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) < 0) {
        return errno == EPIPE || errno == ECONNRESET;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buffer[4096];
    for (;;) {
        const auto left = time_left(deadline);
        if (left.count() <= 0) {
            return false;
        }
        pollfd p{socket.fd, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready <= 0) {
            if (ready < 0 && errno == EINTR) {
                continue;
            }
            return false;
        }
        const auto n = ::recv(socket.fd, buffer, sizeof(buffer), 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET)) {
            return true;
        }
        // The server may answer something (a TLS alert) before it closes.
    }
}

TlsProbeResult tls_probe(std::uint16_t port,
                         const TlsProbeOptions& options,
                         std::chrono::milliseconds timeout) {
    TlsProbeResult result;
    ERR_clear_error();
    std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) {
        result.error = "SSL_CTX_new: " + ssl_errors();
        return result;
    }
    if (options.lower_security_level) {
        SSL_CTX_set_security_level(ctx.get(), 0);
    }
    if (options.min_version != 0) {
        SSL_CTX_set_min_proto_version(ctx.get(), options.min_version);
    }
    if (options.max_version != 0) {
        SSL_CTX_set_max_proto_version(ctx.get(), options.max_version);
    }
    if (!options.cert_pem.empty()) {
        std::unique_ptr<BIO, BioFree> cert_bio(
            BIO_new_mem_buf(options.cert_pem.data(), static_cast<int>(options.cert_pem.size())));
        std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
        std::unique_ptr<BIO, BioFree> key_bio(
            BIO_new_mem_buf(options.key_pem.data(), static_cast<int>(options.key_pem.size())));
        std::unique_ptr<EVP_PKEY, PkeyFree> key(
            PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
        if (!cert || !key || SSL_CTX_use_certificate(ctx.get(), cert.get()) != 1 ||
            SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1) {
            result.error = "client certificate: " + ssl_errors();
            return result;
        }
    }
    if (!options.ca_pem.empty()) {
        std::unique_ptr<BIO, BioFree> bio(
            BIO_new_mem_buf(options.ca_pem.data(), static_cast<int>(options.ca_pem.size())));
        std::unique_ptr<X509, X509Free> ca(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        if (!ca || X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca.get()) != 1) {
            result.error = "CA: " + ssl_errors();
            return result;
        }
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    }
    Fd socket{connect_loopback(port, timeout)};
    if (socket.fd < 0) {
        result.error = std::string("connect: ") + std::strerror(errno);
        return result;
    }
    std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
    SSL_set_fd(ssl.get(), socket.fd);
    if (SSL_connect(ssl.get()) != 1) {
        result.error = "handshake: " + ssl_errors();
        return result;
    }
    result.handshake_ok = true;
    char byte = 0;
    const int n = SSL_read(ssl.get(), &byte, 1);
    if (n > 0) {
        result.got_application_data = true;
    } else {
        const auto text = ssl_errors();
        result.error = text.empty() ? "read: closed" : "read: " + text;
    }
    return result;
}

HttpResponse http_get(std::uint16_t port, const std::string& path, std::chrono::milliseconds timeout) {
    HttpResponse response;
    Fd socket{connect_loopback(port, timeout)};
    if (socket.fd < 0) {
        return response;
    }
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(socket.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
        return response;
    }
    std::string raw;
    char buffer[8192];
    for (;;) {
        const auto n = ::recv(socket.fd, buffer, sizeof(buffer), 0);
        if (n <= 0) {
            break;
        }
        raw.append(buffer, static_cast<std::size_t>(n));
    }
    const auto header_end = raw.find("\r\n\r\n");
    if (raw.compare(0, 5, "HTTP/") != 0 || header_end == std::string::npos) {
        return response;
    }
    const auto space = raw.find(' ');
    response.status = std::atoi(raw.c_str() + space + 1);
    response.body = raw.substr(header_end + 4);
    return response;
}

namespace {

struct Sample {
    std::string name;
    std::map<std::string, std::string> labels;
};

// "name{a=\"x\",b=\"y\"}" (values with \\ \" \n escapes) -> its parts; nothing when malformed.
std::optional<Sample> parse_sample(const std::string& text) {
    Sample sample;
    const auto brace = text.find('{');
    sample.name = text.substr(0, brace);
    if (brace == std::string::npos) {
        return sample;
    }
    std::size_t i = brace + 1;
    while (i < text.size() && text[i] != '}') {
        const auto equals = text.find('=', i);
        if (equals == std::string::npos || equals + 1 >= text.size() || text[equals + 1] != '"') {
            return std::nullopt;
        }
        std::string key = text.substr(i, equals - i);
        std::string value;
        i = equals + 2;
        for (; i < text.size() && text[i] != '"'; ++i) {
            if (text[i] == '\\' && i + 1 < text.size()) {
                ++i;
            }
            value += text[i];
        }
        if (i >= text.size()) {
            return std::nullopt;
        }
        sample.labels[std::move(key)] = std::move(value);
        ++i;  // the closing quote
        if (i < text.size() && text[i] == ',') {
            ++i;
        }
    }
    return sample;
}

}  // namespace

std::optional<double> metric_value(const std::string& metrics_text, const std::string& sample) {
    const auto wanted = parse_sample(sample);
    if (!wanted) {
        return std::nullopt;
    }
    std::optional<double> sum;
    std::istringstream in(metrics_text);
    std::string line;
    while (std::getline(in, line)) {
        const auto space = line.rfind(' ');
        if (line.empty() || line[0] == '#' || space == std::string::npos) {
            continue;
        }
        const auto found = parse_sample(line.substr(0, space));
        if (!found || found->name != wanted->name) {
            continue;
        }
        const bool matches =
            std::all_of(wanted->labels.begin(), wanted->labels.end(), [&](const auto& label) {
                const auto it = found->labels.find(label.first);
                return it != found->labels.end() && it->second == label.second;
            });
        if (matches) {
            sum = sum.value_or(0.0) + std::stod(line.substr(space + 1));
        }
    }
    return sum;
}

}  // namespace agentlb::test
