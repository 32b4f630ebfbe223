#pragma once

// The rules of redeeming a join token, the same for every backend: each
// backend reads the token and the existing host inside its transaction and
// asks these rules before it writes anything.

#include "common/store/store.hpp"

#include <optional>
#include <string>

namespace agentlb::store {

struct StoredToken {
    std::optional<std::string> zone;
    std::optional<std::string> name;
    std::int64_t expires_at = 0;
    bool used = false;
    std::optional<std::string> cluster{};
    std::optional<std::int64_t> host_id{};
};

// The zone the host gets (nothing: a new host gets "default", a re-enrolled
// one keeps its own), or the refusal for the agent, with peer text escaped.
// `token` is nothing for an unknown hash; `existing` is the host
// find_host(request.name) found.
Result<std::optional<std::string>> check_redeem(const std::optional<StoredToken>& token,
                                                const RedeemRequest& request,
                                                const std::optional<HostRecord>& existing);

}  // namespace agentlb::store
