#include "tools/agentlbctl/ca_show.hpp"

#include "certs/fingerprint.hpp"
#include "certs/handles.hpp"
#include "certs/inspect.hpp"
#include "certs/pem.hpp"
#include "common/util/rfc3339.hpp"
#include "tools/agentlbctl/output.hpp"

#include <openssl/bio.h>
#include <openssl/x509.h>

#include <algorithm>

namespace agentlb::ctl {
namespace {

// "CN=agentlb root CA,O=..." (RFC 2253), or "" when it cannot be printed.
std::string subject_text(X509* certificate) {
    certs::BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || X509_NAME_print_ex(bio.get(), X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253) < 0) {
        return {};
    }
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

struct ImportedChain {
    std::string root_fingerprint;  // "" for a CA that is its own root
    std::int64_t not_after = 0;    // the first certificate of the chain to expire
};

Result<ImportedChain> imported_chain(const std::string& chain_pem) {
    ImportedChain out;
    if (chain_pem.empty()) {
        return out;
    }
    auto chain = certs::parse_certificates_pem(chain_pem);
    if (!chain) {
        return fail("the CA chain cannot be read (" + chain.error() + ")");
    }
    out.root_fingerprint = certs::fingerprint_of(chain->back().get());
    out.not_after = certs::not_after_of(chain->front().get());
    for (const auto& certificate : *chain) {
        out.not_after = std::min(out.not_after, certs::not_after_of(certificate.get()));
    }
    return out;
}

}  // namespace

int run_ca_show(Context& context, const CommandArgs&) {
    auto store = context.open_store(StoreAccess::existing_only);
    if (!store) {
        return context.fail(kExitFailure, store.error());
    }
    const auto ca = (*store)->ca_certificate();
    if (!ca) {
        return context.fail(
            kExitFailure,
            store_phrase(context.db()) + " holds no CA; create one with `agentlbctl ca init --ca-dir DIR`");
    }
    const auto& [pem, fingerprint] = *ca;
    auto certificate = certs::parse_certificate_pem(pem);
    if (!certificate) {
        return context.fail(kExitFailure,
                            "the CA certificate recorded in " + store_phrase(context.db()) +
                                " cannot be read (" + certificate.error() + "); its fingerprint is " +
                                fingerprint);
    }
    const std::string subject = subject_text(certificate->get());
    const std::int64_t not_before = certs::not_before_of(certificate->get());
    const std::int64_t not_after = certs::not_after_of(certificate->get());
    // An imported CA: agents pin its chain's root, and the chain's first expiry ends their trust.
    auto imported = imported_chain((*store)->ca_chain());
    if (!imported) {
        return context.fail(kExitFailure, store_phrase(context.db()) + ": " + imported.error());
    }
    const std::string& pin = imported->root_fingerprint.empty() ? fingerprint : imported->root_fingerprint;
    if (context.json()) {
        Json json{{"ca_fingerprint", pin}};
        if (!imported->root_fingerprint.empty()) {
            json["issuing_ca_fingerprint"] = fingerprint;
            json["chain_not_after"] = util::format_rfc3339(imported->not_after);
        }
        json["subject"] = subject;
        json["not_before"] = util::format_rfc3339(not_before);
        json["not_after"] = util::format_rfc3339(not_after);
        json["pem"] = pem;
        print_json(context.out(), json);
        return kExitOk;
    }
    context.out() << "ca_fingerprint " << pin << "\n";
    if (!imported->root_fingerprint.empty()) {
        context.out() << "issuing_ca_fingerprint " << fingerprint << "\n";
    }
    context.out() << "subject " << display_text(subject) << "\n"
                  << "not_before " << util::format_rfc3339(not_before) << "\n"
                  << "not_after " << util::format_rfc3339(not_after) << "\n";
    if (!imported->root_fingerprint.empty()) {
        context.out() << "chain_not_after " << util::format_rfc3339(imported->not_after) << "\n";
    }
    context.out() << pem;
    if (!pem.empty() && pem.back() != '\n') {
        context.out() << "\n";
    }
    return kExitOk;
}

}  // namespace agentlb::ctl
