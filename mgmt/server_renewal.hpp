#pragma once

// This server's certificate, renewed while it runs: once the renewal
// fraction of its validity has passed (ca.framework.cert.automatic.renewal),
// or at once when its own serial is revoked, it makes a fresh key of the
// configured type, has the CA issue a certificate with the configured
// validity, rewrites NAME.key (0600) and NAME.crt, and installs new TLS
// contexts: new connections use them, open sessions keep theirs. It also
// keeps the expiry warnings (this server's certificate, the CA) and the
// certificate gauges up to date.

#include "common/store/store.hpp"
#include "mgmt/server_certificate.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::mgmt {

class SharedState;
class StoreWorker;

// At start: this server's certificate with the stored global certificate
// settings (reused before its renewal point, else issued), recorded in the store.
ServerCredentials start_server_certificate(StoreWorker& store,
                                           const certs::CertificateAuthority& ca,
                                           const std::string& state_dir,
                                           const std::string& name,
                                           const std::string& advertise_host);

// Why a warning would be raised at `now`: this server's certificate (or the
// CA) expires within `alert_period` (0: never warn). Pure, for tests.
std::vector<std::string> certificate_expiry_warnings(std::int64_t server_not_after,
                                                     std::int64_t ca_not_after,
                                                     std::chrono::seconds alert_period,
                                                     std::int64_t now);

class ServerRenewal : public std::enable_shared_from_this<ServerRenewal> {
public:
    ServerRenewal(boost::asio::io_context& context,
                  std::shared_ptr<SharedState> state,
                  std::string advertise_host);

    void start();
    void stop();  // any thread

private:
    boost::asio::awaitable<void> loop();
    void tick(std::int64_t now);
    void renew(const char* why, std::int64_t now);
    void warn(std::int64_t now);
    // In the store (agentlbctl cert list, revocation); retried each tick until it is.
    boost::asio::awaitable<void> record_renewed();
    // agentlb_agent_certificates_expiring_30d, from the store once a minute.
    boost::asio::awaitable<void> count_expiring(std::int64_t now);

    boost::asio::io_context& context_;
    std::shared_ptr<SharedState> state_;
    const std::string advertise_host_;
    boost::asio::steady_timer timer_;
    bool stopped_ = false;
    std::int64_t retry_at_ = 0;          // after a failed renewal
    std::int64_t next_warning_log_ = 0;  // the log says it at most once an hour
    std::vector<std::string> last_warnings_;
    std::optional<store::IssuedCertificate> unrecorded_;  // renewed, not yet in the store
    std::int64_t next_count_ = 0;
    bool next_record_log_ = false;  // the failure to record was logged as a warning already
};

}  // namespace agentlb::mgmt
