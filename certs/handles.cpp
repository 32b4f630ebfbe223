#include "certs/handles.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

namespace agentlb::certs {

void OpensslDeleter::operator()(EVP_PKEY* p) const noexcept {
    EVP_PKEY_free(p);
}
void OpensslDeleter::operator()(EVP_PKEY_CTX* p) const noexcept {
    EVP_PKEY_CTX_free(p);
}
void OpensslDeleter::operator()(EVP_MD_CTX* p) const noexcept {
    EVP_MD_CTX_free(p);
}
void OpensslDeleter::operator()(X509* p) const noexcept {
    X509_free(p);
}
void OpensslDeleter::operator()(X509_REQ* p) const noexcept {
    X509_REQ_free(p);
}
void OpensslDeleter::operator()(X509_NAME* p) const noexcept {
    X509_NAME_free(p);
}
void OpensslDeleter::operator()(X509_EXTENSION* p) const noexcept {
    X509_EXTENSION_free(p);
}
void OpensslDeleter::operator()(X509_STORE* p) const noexcept {
    X509_STORE_free(p);
}
void OpensslDeleter::operator()(X509_STORE_CTX* p) const noexcept {
    X509_STORE_CTX_free(p);
}
void OpensslDeleter::operator()(stack_st_X509* p) const noexcept {
    sk_X509_pop_free(p, X509_free);
}
void OpensslDeleter::operator()(BIO* p) const noexcept {
    BIO_free_all(p);
}
void OpensslDeleter::operator()(BIGNUM* p) const noexcept {
    BN_free(p);
}
void OpensslDeleter::operator()(ASN1_INTEGER* p) const noexcept {
    ASN1_INTEGER_free(p);
}
void OpensslDeleter::operator()(char* p) const noexcept {
    OPENSSL_free(p);
}

std::string openssl_error_text() {
    std::string text;
    const char* data = nullptr;
    int flags = 0;
    unsigned long code = 0;
    while ((code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) != 0) {
        if (!text.empty()) {
            text += "; ";
        }
        // "PEM routines: no start line" reads better than "error:0480006C:PEM routines::no start line".
        const char* library = ERR_lib_error_string(code);
        const char* reason = ERR_reason_error_string(code);
        if (library != nullptr && reason != nullptr) {
            text += library;
            text += ": ";
            text += reason;
        } else {
            char buffer[256];
            ERR_error_string_n(code, buffer, sizeof buffer);
            text += buffer;
        }
        if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
            text += " (";
            text += data;
            text += ')';
        }
    }
    return text;
}

std::string openssl_failure(std::string_view what) {
    std::string message(what);
    std::string detail = openssl_error_text();
    if (!detail.empty()) {
        message += ": ";
        message += detail;
    }
    return message;
}

}  // namespace agentlb::certs
