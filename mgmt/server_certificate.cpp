#include "mgmt/server_certificate.hpp"

#include "certs/inspect.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "certs/verify.hpp"
#include "common/util/atomic_file.hpp"

#include <boost/asio/ip/address.hpp>

#include <fmt/format.h>

namespace agentlb::mgmt {

namespace {

bool is_ip_address(const std::string& host) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(host, ec);
    return !ec;
}

// Why an existing pair cannot be reused, or "" when it can.
std::string unusable_reason(const certs::CertificateAuthority& ca,
                            const std::filesystem::path& key_path,
                            const std::filesystem::path& cert_path,
                            const std::string& advertise_host,
                            std::int64_t now,
                            int renewal_permille) {
    auto key = certs::load_private_key_file(key_path);
    if (!key) {
        return key.error();
    }
    auto cert = certs::load_certificate_file(cert_path);
    if (!cert) {
        return cert.error();
    }
    if (!certs::key_matches_certificate(key->get(), cert->get())) {
        return "the key does not match the certificate";
    }
    if (auto ok = certs::verify_certificate(
            cert->get(), ca.certificate_pem(), now, nullptr, certs::CertificateKind::server);
        !ok) {
        return ok.error();
    }
    if (now >= certs::renewal_time(cert->get(), renewal_permille)) {
        return "its renewal point has passed";
    }
    if (!certs::matches_address(cert->get(), advertise_host)) {
        return fmt::format("it does not name the advertised address {}", advertise_host);
    }
    return {};
}

}  // namespace

ServerCertificatePolicy server_policy_of(const lb::CertificateSettings& settings) {
    return ServerCertificatePolicy{settings.server_validity, settings.key_type, settings.renewal_permille};
}

Result<ServerCredentials> ensure_server_certificate(const certs::CertificateAuthority& ca,
                                                    const std::filesystem::path& state_dir,
                                                    const std::string& name,
                                                    const std::string& advertise_host,
                                                    std::int64_t now,
                                                    const ServerCertificatePolicy& policy) {
    ServerCredentials credentials;
    credentials.key_path = state_dir / (name + ".key");
    credentials.certificate_path = state_dir / (name + ".crt");

    std::error_code fs_ec;
    if (std::filesystem::exists(credentials.key_path, fs_ec) &&
        std::filesystem::exists(credentials.certificate_path, fs_ec)) {
        const auto reason = unusable_reason(ca,
                                            credentials.key_path,
                                            credentials.certificate_path,
                                            advertise_host,
                                            now,
                                            policy.renewal_permille);
        if (reason.empty()) {
            auto key = util::read_file(credentials.key_path);
            auto cert = util::read_file(credentials.certificate_path);
            auto parsed = certs::parse_certificate_pem(cert ? *cert : std::string());
            if (key && cert && parsed) {
                credentials.key_pem = std::move(key).value();
                credentials.certificate_pem = std::move(cert).value();
                credentials.serial = certs::serial_of(parsed->get());
                credentials.not_after = certs::not_after_of(parsed->get());
                credentials.reused = true;
                return credentials;
            }
        }
        // Replaced below; the caller logs that a new one was issued.
    }
    return issue_server_certificate(ca, state_dir, name, advertise_host, policy);
}

Result<ServerCredentials> issue_server_certificate(const certs::CertificateAuthority& ca,
                                                   const std::filesystem::path& state_dir,
                                                   const std::string& name,
                                                   const std::string& advertise_host,
                                                   const ServerCertificatePolicy& policy) {
    ServerCredentials credentials;
    credentials.key_path = state_dir / (name + ".key");
    credentials.certificate_path = state_dir / (name + ".crt");
    std::error_code fs_ec;
    std::filesystem::create_directories(state_dir, fs_ec);
    if (fs_ec) {
        return fail(fmt::format("cannot create --state-dir {}: {}", state_dir.string(), fs_ec.message()));
    }
    auto key = certs::generate_key(policy.key_type);
    if (!key) {
        return fail(key.error());
    }
    auto csr = certs::make_csr_pem(key->get(), name);
    if (!csr) {
        return fail(csr.error());
    }
    certs::IssueOptions options;
    options.kind = certs::CertificateKind::server;
    options.common_name = name;
    options.validity = policy.validity;
    if (is_ip_address(advertise_host)) {
        options.ip_addresses.push_back(advertise_host);
    } else {
        options.dns_names.push_back(advertise_host);
    }
    auto issued = ca.issue(*csr, options);
    if (!issued) {
        return fail(fmt::format("cannot issue this server's certificate: {}", issued.error()));
    }
    credentials.key_pem = certs::private_key_to_pem(key->get());
    credentials.certificate_pem = issued->pem;
    credentials.serial = issued->serial;
    credentials.not_after = issued->not_after;
    // The key goes first: a certificate without its key is useless, the
    // reverse is simply replaced at the next start.
    if (auto ok = util::write_file_atomically(
            credentials.key_path, credentials.key_pem, 0600, util::Overwrite::replace);
        !ok) {
        return fail(ok.error());
    }
    if (auto ok = util::write_file_atomically(
            credentials.certificate_path, credentials.certificate_pem, 0644, util::Overwrite::replace);
        !ok) {
        return fail(ok.error());
    }
    return credentials;
}

}  // namespace agentlb::mgmt
