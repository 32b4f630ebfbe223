#pragma once

// Blocking, deliberately misbehaving clients for refusal tests: plain TCP
// that sends nothing or garbage, TLS clients with chosen versions or no
// certificate, and a tiny HTTP GET for the admin endpoint.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace agentlb::test {

using namespace std::chrono_literals;

// Connects to 127.0.0.1:port, sends `bytes` (may be empty), and waits for
// the server to close the connection. True when it did within `timeout`.
bool server_closes(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout);

// A plain TCP connection to 127.0.0.1:port that sends `bytes` once (may be
// empty) and then stays open and silent until the object goes away: one
// member of a flood of idle clients.
class IdleConnection {
public:
    IdleConnection(std::uint16_t port, const std::string& bytes = "");
    ~IdleConnection();
    IdleConnection(const IdleConnection&) = delete;
    IdleConnection& operator=(const IdleConnection&) = delete;

    bool connected() const { return fd_ >= 0; }
    // The server has closed it (a read sees the end or an error at once).
    bool closed_by_server() const;

private:
    int fd_ = -1;
};

struct TlsProbeOptions {
    int min_version = 0;  // TLS1_VERSION, TLS1_2_VERSION, ...; 0 = library default
    int max_version = 0;
    bool lower_security_level = false;  // let the client offer TLS 1.0 at all
    std::string cert_pem;               // empty: no client certificate
    std::string key_pem;
    std::string ca_pem;  // empty: do not verify the server
};

struct TlsProbeResult {
    bool handshake_ok = false;
    // After the handshake: the server's answer to a read (TLS 1.3 reports a
    // refused client certificate only here).
    bool got_application_data = false;
    std::string error;
};

// A blocking OpenSSL client: handshake, then one read with `timeout`.
TlsProbeResult tls_probe(std::uint16_t port,
                         const TlsProbeOptions& options,
                         std::chrono::milliseconds timeout = 3s);

struct HttpResponse {
    int status = 0;  // 0 when no answer
    std::string body;
};

// GET over plain HTTP/1.0 on 127.0.0.1:port.
HttpResponse http_get(std::uint16_t port, const std::string& path, std::chrono::milliseconds timeout = 3s);

// The value of one Prometheus sample ("name" or "name{label=\"v\"}") in a
// /metrics text; nothing when absent. Labels the request leaves out are
// summed over, as PromQL's sum() would: "x{result=\"ok\"}" adds up
// x{result="ok",kind="full"} and x{result="ok",kind="resumed"}.
std::optional<double> metric_value(const std::string& metrics_text, const std::string& sample);

}  // namespace agentlb::test
