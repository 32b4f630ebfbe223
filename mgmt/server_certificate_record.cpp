#include "mgmt/server_certificate_record.hpp"

#include "certs/inspect.hpp"
#include "certs/pem.hpp"
#include "certs/x509_builder.hpp"

namespace agentlb::mgmt {

Result<store::IssuedCertificate> server_certificate_record(std::string_view certificate_pem,
                                                           std::string_view issuer) {
    auto certificate = certs::parse_certificate_pem(certificate_pem);
    if (!certificate) {
        return fail("cannot read this server's certificate back: " + certificate.error());
    }
    store::IssuedCertificate record;
    record.pem = std::string(certificate_pem);
    record.serial = certs::serial_of(certificate->get());
    record.not_after = certs::not_after_of(certificate->get());
    record.issuer = std::string(issuer);
    record.issued_at = certs::issue_time_of(certs::not_before_of(certificate->get()),
                                            certs::not_after_of(certificate->get()));
    return record;
}

}  // namespace agentlb::mgmt
