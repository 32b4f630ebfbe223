#include "certs/pem.hpp"

#include "common/util/text.hpp"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <stdexcept>

namespace agentlb::certs {
namespace {

// Keys, certificates and CSRs are a few kilobytes; this bounds what a peer
// or a stray file can make us parse.
constexpr std::size_t kMaxPemBytes = 1024 * 1024;

BioPtr memory_reader(std::string_view text) {
    return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string bio_contents(BIO* bio) {
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

// Wipes secrets held in a std::string before its memory is released.
struct CleansedString {
    std::string text;
    ~CleansedString() { OPENSSL_cleanse(text.data(), text.size()); }
};

template <class Ptr, class Reader>
Result<Ptr> parse_pem(std::string_view pem, std::string_view what, Reader reader) {
    if (pem.size() > kMaxPemBytes) {
        return fail(std::string(what) + " is too large (" + std::to_string(pem.size()) + " bytes)");
    }
    ERR_clear_error();
    BioPtr bio = memory_reader(pem);
    if (!bio) {
        return fail(openssl_failure("out of memory reading " + std::string(what)));
    }
    Ptr object(reader(bio.get()));
    if (!object) {
        return fail(openssl_failure("not a valid PEM " + std::string(what)));
    }
    return object;
}

Result<std::string> read_pem_file(const std::filesystem::path& path) {
    return util::read_file(path, kMaxPemBytes);
}

}  // namespace

Result<X509Ptr> parse_certificate_pem(std::string_view pem) {
    return parse_pem<X509Ptr>(
        pem, "certificate", [](BIO* bio) { return PEM_read_bio_X509(bio, nullptr, nullptr, nullptr); });
}

Result<std::vector<X509Ptr>> parse_certificates_pem(std::string_view pem) {
    if (pem.size() > kMaxPemBytes) {
        return fail("certificate bundle is too large (" + std::to_string(pem.size()) + " bytes)");
    }
    ERR_clear_error();
    BioPtr bio = memory_reader(pem);
    if (!bio) {
        return fail(openssl_failure("out of memory reading a certificate bundle"));
    }
    std::vector<X509Ptr> certificates;
    for (;;) {
        X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        if (!certificate) {
            // The end of the text reads as "no start line"; anything else is a damaged block.
            const unsigned long error = ERR_peek_last_error();
            if (!certificates.empty() && ERR_GET_LIB(error) == ERR_LIB_PEM &&
                ERR_GET_REASON(error) == PEM_R_NO_START_LINE) {
                ERR_clear_error();
                break;
            }
            return fail(openssl_failure(certificates.empty()
                                            ? std::string("not a valid PEM certificate")
                                            : "certificate " + std::to_string(certificates.size() + 1) +
                                                  " of the bundle is not a valid PEM certificate"));
        }
        certificates.push_back(std::move(certificate));
    }
    return certificates;
}

Result<X509ReqPtr> parse_csr_pem(std::string_view pem) {
    return parse_pem<X509ReqPtr>(pem, "certificate signing request (CSR)", [](BIO* bio) {
        return PEM_read_bio_X509_REQ(bio, nullptr, nullptr, nullptr);
    });
}

Result<EvpPkeyPtr> parse_private_key_pem(std::string_view pem) {
    // An empty passphrase callback result makes an encrypted key fail instead
    // of prompting on the terminal.
    return parse_pem<EvpPkeyPtr>(pem, "private key", [](BIO* bio) {
        return PEM_read_bio_PrivateKey(
            bio, nullptr, [](char*, int, int, void*) { return 0; }, nullptr);
    });
}

std::string to_pem(X509* certificate) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), certificate) != 1) {
        throw std::runtime_error(openssl_failure("cannot encode a certificate as PEM"));
    }
    return bio_contents(bio.get());
}

std::string to_pem(X509_REQ* request) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509_REQ(bio.get(), request) != 1) {
        throw std::runtime_error(openssl_failure("cannot encode a CSR as PEM"));
    }
    return bio_contents(bio.get());
}

std::string private_key_to_pem(EVP_PKEY* key) {
    // A secure-memory BIO wipes its buffer when freed.
    BioPtr bio(BIO_new(BIO_s_secmem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        throw std::runtime_error(openssl_failure("cannot encode a private key as PEM"));
    }
    return bio_contents(bio.get());
}

Result<X509Ptr> load_certificate_file(const std::filesystem::path& path) {
    auto text = read_pem_file(path);
    if (!text) {
        return fail(text.error());
    }
    auto certificate = parse_certificate_pem(*text);
    if (!certificate) {
        return fail(util::peer_text(path.native(), util::kShownPathBytes) + ": " + certificate.error());
    }
    return std::move(certificate).value();
}

Result<EvpPkeyPtr> load_private_key_file(const std::filesystem::path& path) {
    auto text = read_pem_file(path);
    if (!text) {
        return fail(text.error());
    }
    CleansedString secret{std::move(text).value()};
    auto key = parse_private_key_pem(secret.text);
    if (!key) {
        return fail(util::peer_text(path.native(), util::kShownPathBytes) + ": " + key.error());
    }
    return std::move(key).value();
}

Status save_certificate_file(const std::filesystem::path& path, X509* certificate, Overwrite overwrite) {
    return util::write_file_atomically(path, to_pem(certificate), 0644, overwrite);
}

Status save_private_key_file(const std::filesystem::path& path, EVP_PKEY* key, Overwrite overwrite) {
    CleansedString secret{private_key_to_pem(key)};
    return util::write_file_atomically(path, secret.text, 0600, overwrite);
}

std::string to_pem_bundle(const std::vector<X509Ptr>& certificates) {
    std::string bundle;
    for (const auto& certificate : certificates) {
        bundle += to_pem(certificate.get());
    }
    return bundle;
}

}  // namespace agentlb::certs
