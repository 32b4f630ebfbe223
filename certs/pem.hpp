#pragma once

// PEM text <-> OpenSSL objects, in memory and in files.
//
// Private keys are unencrypted PKCS#8 PEM, and written
// with mode 0600; certificates are written with mode 0644.

#include "certs/handles.hpp"
#include "common/util/atomic_file.hpp"
#include "common/util/result.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::certs {

// Files are written with util::write_file_atomically; a CA refuses to replace its own.
using util::Overwrite;

// Each parser reads the first PEM block of its kind and names the problem
// ("not a PEM certificate", ...) when there is none.
Result<X509Ptr> parse_certificate_pem(std::string_view pem);
Result<X509ReqPtr> parse_csr_pem(std::string_view pem);
Result<EvpPkeyPtr> parse_private_key_pem(std::string_view pem);
// Every certificate of a PEM bundle, in order (at least one; text between
// blocks is ignored, a damaged block is an error naming its position).
Result<std::vector<X509Ptr>> parse_certificates_pem(std::string_view pem);

std::string to_pem(X509* certificate);
std::string to_pem(X509_REQ* request);
// The concatenated PEM of `certificates`, in order (parse_certificates_pem reads it back).
std::string to_pem_bundle(const std::vector<X509Ptr>& certificates);
// The returned string holds secret material: do not log it.
std::string private_key_to_pem(EVP_PKEY* key);

// Errors name the file.
Result<X509Ptr> load_certificate_file(const std::filesystem::path& path);
Result<EvpPkeyPtr> load_private_key_file(const std::filesystem::path& path);

Status save_certificate_file(const std::filesystem::path& path,
                             X509* certificate,
                             Overwrite overwrite = Overwrite::replace);
Status save_private_key_file(const std::filesystem::path& path,
                             EVP_PKEY* key,
                             Overwrite overwrite = Overwrite::replace);

}  // namespace agentlb::certs
