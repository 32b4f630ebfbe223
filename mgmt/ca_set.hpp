#pragma once

// The CAs this server works with (DESIGN.md "CA rotation"): the CA it issues
// from (loaded from --ca-dir) and every CA the cluster trusts (the store's
// trusted_cas, reloaded with each generation). During a rotation both the
// previous and the active CA are trusted; the server issues from the active
// one as soon as --ca-dir holds it (until then from the one it has, with a
// warning), and sends the cross certificate after its own so that agents
// still trusting only the previous CA accept it.
//
// Thread-safe: any thread reads view() (a snapshot); the cluster watcher
// calls update().

#include "certs/ca.hpp"
#include "common/store/store.hpp"
#include "common/util/result.hpp"

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::mgmt {

struct CaView {
    std::shared_ptr<const certs::CertificateAuthority> issuer;
    std::string issuer_fingerprint;
    // Every trusted CA (the active first): the agent port's trust anchors.
    std::string trust_pem;
    // Sent after this server's certificate: the cross certificate while a
    // previous CA is trusted and the issuer is the active CA; else empty.
    std::string chain_pem;
    // The `ca` of a `certificate` answer: the cross certificate during a
    // rotation (an agent trusting only the previous CA accepts it), else the
    // issuer's certificate.
    std::string answer_ca_pem;
    // What a `trust` message lists, and the fingerprints of that list
    // (sorted), compared with a hello's `trusts`.
    std::vector<std::string> trust_cas;
    std::vector<std::string> trust_fingerprints;
    // The previous CA while a rotation is in progress.
    std::optional<std::string> previous_fingerprint;
    // Its subjectKeyIdentifier (hex), to find the agents holding its certificates.
    std::string previous_key_id;
    // The issuer is not the store's active CA (its files were not copied here).
    bool issuer_outdated = false;
};

// The view for `issuer` and the store's trusted CAs (`trusted`, active
// first; empty: a store from before schema v7 or without a CA: the issuer
// alone). Refused when the issuer is not among the trusted CAs, or a stored
// certificate does not parse.
Result<CaView> make_ca_view(std::shared_ptr<const certs::CertificateAuthority> issuer,
                            const std::vector<store::TrustedCa>& trusted);

// The subjectKeyIdentifier (or a leaf's authorityKeyIdentifier) as lowercase hex; "" when absent.
std::string subject_key_id_of(X509* certificate);
std::string authority_key_id_of(X509* certificate);

class CaSet {
public:
    explicit CaSet(std::shared_ptr<const CaView> view);

    std::shared_ptr<const CaView> view() const;

    // What changed with update().
    struct Change {
        bool trust_changed = false;   // the trusted set (or the chain) differs
        bool issuer_changed = false;  // the server issues from another CA now
    };
    // Rebuilds the view from the store's trusted CAs, loading --ca-dir again
    // when the active CA is not the one this server issues from. A refusal
    // (e.g. --ca-dir's CA no longer trusted) keeps the current view.
    Result<Change> update(const std::vector<store::TrustedCa>& trusted, const std::filesystem::path& ca_dir);

    // The issuing CA's calls, for the code that issues.
    Result<certs::IssuedCertificate> issue(std::string_view csr_pem,
                                           const certs::IssueOptions& options) const;
    std::shared_ptr<const certs::CertificateAuthority> issuer() const { return view()->issuer; }
    std::string fingerprint() const { return view()->issuer_fingerprint; }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const CaView> view_;
};

}  // namespace agentlb::mgmt
