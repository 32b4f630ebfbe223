#include "mgmt/ca_start.hpp"

#include "mgmt/process_setup.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace agentlb::mgmt {

namespace {

// Every server must send and pin the same chain as the store records.
std::string ca_chain_mismatch(const std::string& ca_dir, bool dir_has_none) {
    if (dir_has_none) {
        return "the store's CA was imported with a chain up to the organisation's root, but --ca-dir " +
               ca_dir + " has no ca-chain.crt: copy it there from the folder `agentlbctl ca import` wrote";
    }
    return "--ca-dir " + ca_dir + "/ca-chain.crt is not the chain the store holds for its CA: copy the " +
           "files `agentlbctl ca import` wrote";
}

}  // namespace

std::shared_ptr<const CaView> start_ca_view(StoreWorker& store,
                                            certs::CertificateAuthority ca,
                                            const std::string& ca_dir) {
    const auto ca_fingerprint = ca.fingerprint();
    const auto trusted = store.call_sync([&](store::Store& s) {
        const auto stored = s.ca_certificate();
        // An imported CA (DIR/ca-chain.crt) is recorded with its chain up to the root agents pin.
        if (!stored) {
            s.put_ca_with_chain(ca.certificate_pem(), ca_fingerprint, ca.chain_pem());
        } else if (s.ca_chain() != ca.chain_pem()) {
            throw StartError(ca_chain_mismatch(ca_dir, ca.chain_pem().empty()));
        }
        return s.trusted_cas();
    });
    // --ca-dir must hold one of the CAs the cluster trusts: the active
    // one, or during a rotation the previous one (then this server
    // issues from it, with a warning, until the rotated files are copied).
    auto issuer = std::make_shared<const certs::CertificateAuthority>(std::move(ca));
    auto cas = make_ca_view(issuer, trusted);
    if (!cas) {
        throw StartError("--ca-dir " + ca_dir + " holds CA " + ca_fingerprint +
                         ", which the store does not trust (active CA: " +
                         (trusted.empty() ? std::string("none") : trusted.front().fingerprint) +
                         "): every server must use the store's CA");
    }
    if (cas->issuer_outdated) {
        spdlog::warn(
            "--ca-dir {} holds the previous CA {}: this server issues from it until the rotated CA files "
            "(ca.key, ca.crt) are copied there",
            ca_dir,
            ca_fingerprint);
    }
    return std::make_shared<const CaView>(std::move(cas).value());
}

}  // namespace agentlb::mgmt
