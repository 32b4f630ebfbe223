#pragma once

// Owning handles for OpenSSL objects, and the text of OpenSSL's error queue.
//
// Only <openssl/types.h> is included here so that headers using these aliases
// stay light; the deleters are defined out of line.

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>

// Declared by <openssl/x509.h>; repeated so that this header stays light.
struct stack_st_X509;  // STACK_OF(X509)
typedef struct X509_req_st X509_REQ;
typedef struct X509_extension_st X509_EXTENSION;

namespace agentlb::certs {

struct OpensslDeleter {
    void operator()(EVP_PKEY* p) const noexcept;
    void operator()(EVP_PKEY_CTX* p) const noexcept;
    void operator()(EVP_MD_CTX* p) const noexcept;
    void operator()(X509* p) const noexcept;
    void operator()(X509_REQ* p) const noexcept;
    void operator()(X509_NAME* p) const noexcept;
    void operator()(X509_EXTENSION* p) const noexcept;
    void operator()(X509_STORE* p) const noexcept;
    void operator()(X509_STORE_CTX* p) const noexcept;
    void operator()(stack_st_X509* p) const noexcept;  // frees the certificates too
    void operator()(BIO* p) const noexcept;
    void operator()(BIGNUM* p) const noexcept;
    void operator()(ASN1_INTEGER* p) const noexcept;  // also any ASN1_STRING, e.g. ASN1_TIME
    void operator()(char* p) const noexcept;          // memory from OPENSSL_malloc
};

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpensslDeleter>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OpensslDeleter>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpensslDeleter>;
using X509Ptr = std::unique_ptr<X509, OpensslDeleter>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OpensslDeleter>;
using X509NamePtr = std::unique_ptr<X509_NAME, OpensslDeleter>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpensslDeleter>;
using X509StorePtr = std::unique_ptr<X509_STORE, OpensslDeleter>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpensslDeleter>;
using X509StackPtr = std::unique_ptr<stack_st_X509, OpensslDeleter>;
using BioPtr = std::unique_ptr<BIO, OpensslDeleter>;
using BignumPtr = std::unique_ptr<BIGNUM, OpensslDeleter>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, OpensslDeleter>;
using OpensslStringPtr = std::unique_ptr<char, OpensslDeleter>;

// Drains this thread's OpenSSL error queue into one line ("" when empty).
// Callers clear the queue (ERR_clear_error) before the call they report on,
// so that stale errors from unrelated work never end up in a message.
std::string openssl_error_text();

// "what" followed by ": <openssl_error_text()>" when OpenSSL left a reason.
std::string openssl_failure(std::string_view what);

}  // namespace agentlb::certs
