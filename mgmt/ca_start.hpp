#pragma once

// The CA a starting server works with: --ca-dir's CA checked against the
// store's (recorded there, with an imported CA's chain, when the store has
// none yet), and the view of every CA the cluster trusts (ca_set.hpp).

#include "certs/ca.hpp"
#include "mgmt/ca_set.hpp"
#include "mgmt/store_worker.hpp"

#include <memory>
#include <string>

namespace agentlb::mgmt {

// Throws StartError (process_setup.hpp) when --ca-dir's chain is not the
// store's, or its CA is not one the store trusts. During a rotation a
// --ca-dir holding the previous CA is accepted, with a warning.
std::shared_ptr<const CaView> start_ca_view(StoreWorker& store,
                                            certs::CertificateAuthority ca,
                                            const std::string& ca_dir);

}  // namespace agentlb::mgmt
