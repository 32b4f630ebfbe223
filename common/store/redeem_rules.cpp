#include "common/store/redeem_rules.hpp"

#include "common/util/host_name.hpp"
#include "common/util/text.hpp"

namespace agentlb::store {

namespace {

using util::quoted;

}  // namespace

Result<std::optional<std::string>> check_redeem(const std::optional<StoredToken>& token,
                                                const RedeemRequest& request,
                                                const std::optional<HostRecord>& existing) {
    if (!token) {
        return fail("unknown join token");
    }
    if (token->used) {
        return fail("join token already used");
    }
    if (request.now >= token->expires_at) {
        return fail("join token expired");
    }
    if (token->name && !util::same_host_name(*token->name, request.name)) {
        return fail("join token was created for host " + quoted(*token->name) + ", not for " +
                    quoted(request.name));
    }
    if (token->host_id && token->name && (!existing || existing->id != *token->host_id)) {
        // The host the operator reissued for is gone: a host of the same name
        // enrolled since is another machine as far as the store knows.
        const std::string prefix = "join token was created by `agentlbctl cert reissue` for host " +
                                   quoted(*token->name) + " with id " + std::to_string(*token->host_id);
        if (existing) {
            return fail(prefix + ", but the host of that name now has id " + std::to_string(existing->id) +
                        " (removed and enrolled again since); run `agentlbctl cert reissue " +
                        existing->name + "` again");
        }
        return fail(prefix +
                    ", but no host of that name is registered any more (removed); enrol it again "
                    "with a token from `agentlbctl token create --name " +
                    *token->name + "`");
    }
    const bool zone_requested = request.zone && !request.zone->empty();
    if (token->zone && zone_requested && *token->zone != *request.zone) {
        return fail("join token is for zone " + quoted(*token->zone) + ", but the agent asked for zone " +
                    quoted(*request.zone));
    }
    if (existing && !token->name) {
        const std::string as = existing->name == request.name
                                   ? ""
                                   : " as " + quoted(existing->name) + " (host names ignore case)";
        return fail("host " + quoted(request.name) + " is already registered" + as +
                    "; enrolling it again needs a token created with --name " + existing->name);
    }
    std::optional<std::string> zone = token->zone;
    if (!zone && zone_requested) {
        zone = request.zone;
    }
    return zone;
}

}  // namespace agentlb::store
