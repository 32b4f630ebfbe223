#include "tools/agentlbctl/ca_show.hpp"

#include "certs/handles.hpp"
#include "certs/inspect.hpp"
#include "certs/pem.hpp"
#include "common/util/rfc3339.hpp"
#include "tools/agentlbctl/output.hpp"

#include <openssl/bio.h>
#include <openssl/x509.h>

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
    if (context.json()) {
        print_json(context.out(),
                   Json{{"ca_fingerprint", fingerprint},
                        {"subject", subject},
                        {"not_before", util::format_rfc3339(not_before)},
                        {"not_after", util::format_rfc3339(not_after)},
                        {"pem", pem}});
        return kExitOk;
    }
    context.out() << "ca_fingerprint " << fingerprint << "\n"
                  << "subject " << display_text(subject) << "\n"
                  << "not_before " << util::format_rfc3339(not_before) << "\n"
                  << "not_after " << util::format_rfc3339(not_after) << "\n"
                  << pem;
    if (!pem.empty() && pem.back() != '\n') {
        context.out() << "\n";
    }
    return kExitOk;
}

}  // namespace agentlb::ctl
