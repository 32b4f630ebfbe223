#include "agent/credentials.hpp"

#include "agent/printable.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "common/util/atomic_file.hpp"

namespace agentlb::agent {

namespace fs = std::filesystem;

namespace {

constexpr ::mode_t kKeyMode = 0600;
constexpr ::mode_t kCertMode = 0644;

Result<std::string> read_pem(const fs::path& path) {
    return util::read_file(path);
}

// Completes or undoes a renewal that stopped between its steps.
Status recover_pending_key(const AgentSettings& settings) {
    const fs::path pending = pending_key_path(settings.key_file);
    std::error_code ec;
    if (!fs::exists(pending, ec)) {
        return success();
    }
    auto key = certs::load_private_key_file(pending);
    auto cert = certs::load_certificate_file(settings.cert_file);
    if (key && cert && certs::key_matches_certificate(key->get(), cert->get())) {
        // The certificate was written: the new key belongs to it.
        return util::rename_durably(pending, settings.key_file);
    }
    // The certificate was not written yet: the old pair is still whole.
    if (!fs::remove(pending, ec) && ec) {
        return fail("cannot remove " + printable_path(pending) + ": " + ec.message());
    }
    return success();
}

}  // namespace

fs::path pending_key_path(const fs::path& key_file) {
    fs::path pending = key_file;
    pending += ".new";
    return pending;
}

bool certificate_exists(const AgentSettings& settings) {
    std::error_code ec;
    return fs::exists(settings.cert_file, ec);
}

Result<Credentials> load_credentials(const AgentSettings& settings) {
    if (auto recovered = recover_pending_key(settings); !recovered) {
        return fail(recovered.error());
    }
    Credentials creds;
    auto key_pem = read_pem(settings.key_file);
    if (!key_pem) {
        return fail(key_pem.error());
    }
    auto cert_pem = read_pem(settings.cert_file);
    if (!cert_pem) {
        return fail(cert_pem.error());
    }
    auto ca_pem = read_pem(settings.ca_file);
    if (!ca_pem) {
        return fail(ca_pem.error());
    }
    auto key = certs::parse_private_key_pem(*key_pem);
    if (!key) {
        return fail(printable_path(settings.key_file) + ": " + key.error());
    }
    auto cert = certs::parse_certificate_pem(*cert_pem);
    if (!cert) {
        return fail(printable_path(settings.cert_file) + ": " + cert.error());
    }
    if (auto ca = certs::parse_certificates_pem(*ca_pem); !ca) {
        return fail(printable_path(settings.ca_file) + ": " + ca.error());
    }
    if (!certs::key_matches_certificate(key->get(), cert->get())) {
        return fail(
            "the key " + printable_path(settings.key_file) + " does not belong to the certificate " +
            printable_path(settings.cert_file) +
            ": restore the matching pair, or remove the certificate and enrol again with a new token");
    }
    creds.key_pem = std::move(*key_pem);
    creds.cert_pem = std::move(*cert_pem);
    creds.ca_pem = std::move(*ca_pem);
    creds.certificate = std::move(*cert);
    return creds;
}

Status store_enrolled_key_and_ca(const AgentSettings& settings,
                                 const std::string& key_pem,
                                 const std::string& ca_pem) {
    if (auto saved =
            util::write_file_atomically(settings.key_file, key_pem, kKeyMode, util::Overwrite::replace);
        !saved) {
        return saved;
    }
    return util::write_file_atomically(settings.ca_file, ca_pem, kCertMode, util::Overwrite::replace);
}

Status store_enrolled_certificate(const AgentSettings& settings, const std::string& cert_pem) {
    return util::write_file_atomically(settings.cert_file, cert_pem, kCertMode, util::Overwrite::replace);
}

Status store_trusted_cas(const AgentSettings& settings, const std::string& bundle_pem) {
    return util::write_file_atomically(settings.ca_file, bundle_pem, kCertMode, util::Overwrite::replace);
}

Status store_renewed(const AgentSettings& settings,
                     const std::string& key_pem,
                     const std::string& cert_pem,
                     const std::string& ca_pem) {
    const fs::path pending = pending_key_path(settings.key_file);
    if (auto saved = util::write_file_atomically(pending, key_pem, kKeyMode, util::Overwrite::replace);
        !saved) {
        return saved;
    }
    if (!ca_pem.empty()) {
        auto current = util::read_file(settings.ca_file);
        if (!current || *current != ca_pem) {
            if (auto saved = util::write_file_atomically(
                    settings.ca_file, ca_pem, kCertMode, util::Overwrite::replace);
                !saved) {
                return saved;
            }
        }
    }
    if (auto saved =
            util::write_file_atomically(settings.cert_file, cert_pem, kCertMode, util::Overwrite::replace);
        !saved) {
        std::error_code ec;
        fs::remove(pending, ec);
        return saved;
    }
    return util::rename_durably(pending, settings.key_file);
}

}  // namespace agentlb::agent
