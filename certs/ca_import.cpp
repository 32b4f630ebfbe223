#include "certs/ca_import.hpp"

#include "certs/ca.hpp"
#include "certs/ca_chain.hpp"
#include "certs/inspect.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "certs/verify.hpp"
#include "common/util/atomic_file.hpp"
#include "common/util/rfc3339.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <string>
#include <system_error>
#include <vector>

namespace agentlb::certs {
namespace {

std::string shown(const std::filesystem::path& path) {
    return path.string();
}

Status check_dates(const std::filesystem::path& file, X509* certificate, std::int64_t now) {
    if (not_before_of(certificate) > now) {
        return fail(shown(file) + " is not valid before " + util::format_rfc3339(not_before_of(certificate)));
    }
    if (not_after_of(certificate) <= now) {
        return fail(shown(file) + " expired on " + util::format_rfc3339(not_after_of(certificate)));
    }
    return success();
}

// What agents and servers will do with every certificate the CA issues.
Status check_trial_issue(const CertificateAuthority& ca, std::int64_t now) {
    auto key = generate_p256_key();
    if (!key) {
        return fail(key.error());
    }
    auto csr = make_csr_pem(key->get(), "agentlb-import-check");
    if (!csr) {
        return fail(csr.error());
    }
    IssueOptions options;
    options.common_name = "agentlb-import-check";
    options.validity = std::chrono::hours(1);
    auto issued = ca.issue(*csr, options);
    if (!issued) {
        return fail("the CA cannot issue a certificate: " + issued.error());
    }
    auto leaf = parse_certificate_pem(issued->pem);
    if (!leaf) {
        return fail("the CA issued an unreadable certificate: " + leaf.error());
    }
    if (auto verified = verify_certificate_chain(
            leaf->get(), ca.trust_anchor_pem(), ca.intermediates_pem(), now, nullptr, CertificateKind::agent);
        !verified) {
        return fail("a certificate issued by the CA does not verify up to the root: " + verified.error());
    }
    return success();
}

void remove_quietly(const std::filesystem::path& path) {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
}

}  // namespace

Status import_ca(const std::filesystem::path& dir, const CaImportFiles& files, std::int64_t now) {
    const auto key_path = dir / kCaKeyFileName;
    const auto certificate_path = dir / kCaCertificateFileName;
    const auto chain_path = dir / kCaChainFileName;
    for (const auto& path : {key_path, certificate_path, chain_path}) {
        std::error_code error;
        if (std::filesystem::exists(std::filesystem::symlink_status(path, error))) {
            return fail(shown(path) + " already exists; refusing to overwrite an existing CA");
        }
    }

    auto certificate = load_certificate_file(files.certificate);
    if (!certificate) {
        return fail(certificate.error());
    }
    if (auto is_ca = check_issuing_ca(certificate->get()); !is_ca) {
        return fail(shown(files.certificate) + " (" + describe_certificate(certificate->get()) +
                    ") cannot be the CA: " + is_ca.error());
    }
    if (auto dates = check_dates(files.certificate, certificate->get(), now); !dates) {
        return dates;
    }
    auto key = load_private_key_file(files.key);
    if (!key) {
        return fail(key.error());
    }
    if (!key_matches_certificate(key->get(), certificate->get())) {
        return fail(shown(files.key) + " is not the private key of " + shown(files.certificate));
    }
    std::vector<X509Ptr> chain;
    if (files.chain) {
        auto text = util::read_file(*files.chain);
        if (!text) {
            return fail(text.error());
        }
        auto parsed = parse_certificates_pem(*text);
        if (!parsed) {
            return fail(shown(*files.chain) + ": " + parsed.error());
        }
        chain = std::move(parsed).value();
        if (auto checked = check_ca_chain(certificate->get(), chain, now); !checked) {
            return fail(shown(*files.chain) + ": " + checked.error());
        }
    } else {
        ERR_clear_error();
        if (X509_self_signed(certificate->get(), 1) != 1) {
            ERR_clear_error();
            return fail(shown(files.certificate) + " (" + describe_certificate(certificate->get()) +
                        ") is issued by another CA: give its issuers up to the self-signed root with "
                        "--chain FILE (PEM, nearest first, the root last)");
        }
    }
    const std::string key_pem = private_key_to_pem(key->get());
    auto ca = CertificateAuthority::from_parts(
        std::move(certificate).value(), std::move(key).value(), std::move(chain), now);
    if (!ca) {
        return fail(shown(files.certificate) + ": " + ca.error());
    }
    if (auto trial = check_trial_issue(*ca, now); !trial) {
        return trial;
    }

    if (auto folder = ensure_private_folder(dir); !folder) {
        return folder;
    }
    if (auto saved = util::write_file_atomically(key_path, key_pem, 0600, Overwrite::refuse); !saved) {
        return saved;
    }
    if (auto saved =
            util::write_file_atomically(certificate_path, ca->certificate_pem(), 0644, Overwrite::refuse);
        !saved) {
        remove_quietly(key_path);
        return saved;
    }
    if (!ca->chain_pem().empty()) {
        if (auto saved = util::write_file_atomically(chain_path, ca->chain_pem(), 0644, Overwrite::refuse);
            !saved) {
            remove_quietly(key_path);
            remove_quietly(certificate_path);
            return saved;
        }
    }
    return success();
}

}  // namespace agentlb::certs
