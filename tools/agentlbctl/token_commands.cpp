#include "tools/agentlbctl/token_commands.hpp"

#include "certs/token.hpp"
#include "common/util/clock.hpp"
#include "common/util/host_name.hpp"
#include "common/util/rfc3339.hpp"
#include "common/util/zone_name.hpp"
#include "tools/agentlbctl/output.hpp"
#include "tools/agentlbctl/time_format.hpp"

#include <optional>
#include <string>

namespace agentlb::ctl {
namespace {

// Zone and host names end up in certificates, tables and logs: each has its
// rule (util::check_zone, util::check_host_name), applied after this.
Result<std::optional<std::string>> read_label(const CommandArgs& args, std::string_view option) {
    auto value = args.value(option);
    if (!value) {
        return std::optional<std::string>{};
    }
    const std::string shown = "--" + std::string(option);
    if (value->empty()) {
        return fail(shown + ": the value is empty");
    }
    return value;
}

int run_token_create(Context& context, const CommandArgs& args) {
    auto zone = read_label(args, "zone");
    if (!zone) {
        return context.fail(kExitUsage, zone.error());
    }
    // The enrollment port and the agent hold zones to the same rule.
    if (*zone) {
        if (auto valid = util::check_zone(**zone); !valid) {
            return context.fail(kExitUsage, "--zone: " + valid.error());
        }
    }
    auto cluster = read_label(args, "cluster");
    if (!cluster) {
        return context.fail(kExitUsage, cluster.error());
    }
    if (*cluster) {
        // Without a zone the agent would pick the zone, and the cluster with it.
        if (!*zone) {
            return context.fail(kExitUsage, "--cluster needs --zone: a cluster belongs to one zone");
        }
        if (auto valid = util::check_cluster(**cluster); !valid) {
            return context.fail(kExitUsage, "--cluster: " + valid.error());
        }
    }
    auto name = read_label(args, "name");
    if (!name) {
        return context.fail(kExitUsage, name.error());
    }
    // The enrollment port would refuse any other name: say so now.
    if (*name) {
        if (auto valid = util::check_host_name(**name); !valid) {
            return context.fail(kExitUsage, "--name: " + valid.error());
        }
    }
    const auto ttl_or_refusal = token_ttl(args);
    if (!ttl_or_refusal) {
        return context.fail(kExitUsage, ttl_or_refusal.error());
    }
    const std::int64_t ttl = *ttl_or_refusal;
    auto opened = open_store_with_ca(context, "run `agentlbctl ca init --ca-dir DIR` first");
    if (!opened) {
        return context.fail(kExitFailure, opened.error());
    }
    const std::string token = certs::generate_join_token();
    const std::int64_t now = util::unix_now();
    opened->store->create_token(
        store::TokenSpec{certs::hash_token(token), *zone, *name, now + ttl, now, *cluster});

    const std::string& fingerprint = opened->ca_fingerprint;
    if (context.json()) {
        print_json(context.out(), Json{{"token", token}, {"ca_fingerprint", fingerprint}});
        return kExitOk;
    }
    context.out() << "token " << token << "\n"
                  << "ca_fingerprint " << fingerprint << "\n"
                  << "expires_at " << util::format_rfc3339(now + ttl) << "\n";
    if (*zone) {
        context.out() << "zone " << **zone << "\n";
    }
    if (*cluster) {
        context.out() << "cluster " << **cluster << "\n";
    }
    if (*name) {
        context.out() << "name " << **name << "\n";
    }
    return kExitOk;
}

OptionsPtr token_create_options() {
    auto options = command_options();
    // clang-format off
    options->add_options()
        ("zone", text_value("ZONE"), "the host joins this zone (the agent may not ask for another); at most 256 "
                                     "bytes, no space or control character")
        ("cluster", text_value("CLUSTER"), "with --zone: the host joins this cluster of the zone (its values set "
                                           "per cluster apply); named like a zone")
        ("name", text_value("NAME"), "only this host (case ignored) may use it; needed to enrol a registered "
                                     "name again. A host name: letters, digits, '-', dots between labels, 64 "
                                     "at most")
        ("ttl", text_value("SECONDS"), "lifetime, 1..31536000 (default 3600)");
    // clang-format on
    return options;
}

}  // namespace

Result<std::int64_t> token_ttl(const CommandArgs& args) {
    if (auto text = args.value("ttl")) {
        return parse_positive_integer("--ttl", *text, kMaxTokenTtlSeconds);
    }
    return kDefaultTokenTtlSeconds;
}

std::vector<Command> token_commands() {
    return {
        {{"token", "create"},
         "[--zone ZONE [--cluster CLUSTER]] [--name NAME] [--ttl SECONDS]",
         "create a one-time join token for enrolling an agent",
         "Prints the token (shown only now: the store keeps its hash) and the CA fingerprint.\n"
         "Needs the CA in the store (`agentlbctl ca init`).",
         token_create_options(),
         {},
         run_token_create},
    };
}

}  // namespace agentlb::ctl
