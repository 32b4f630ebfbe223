#include "common/lb/config_keys.hpp"

#include "common/lb/algorithm.hpp"
#include "common/lb/certificate_settings.hpp"
#include "common/lb/host_list.hpp"
#include "common/lb/message_budget.hpp"
#include "common/lb/rebalance_settings.hpp"
#include "common/lb/text.hpp"
#include "common/lb/ticket_settings.hpp"

#include <algorithm>
#include <string>

namespace agentlb::lb {
namespace {

using detail::quoted;

constexpr std::string_view kDefaultAlgorithm = "static";
constexpr std::string_view kDefaultCheckInterval = "0";

// Decimal digits only, at most `max` (checked digit by digit, so no
// overflow). `expected` ends the messages of an empty, negative or
// non-numeric value; `too_large` words the refusal of one above `max`.
template <class TooLarge>
Result<std::int64_t> parse_whole_number(std::string_view value,
                                        std::int64_t max,
                                        const std::string& expected,
                                        TooLarge too_large) {
    if (value.empty()) {
        return fail("the value is empty" + expected);
    }
    if (value.front() == '-' && detail::all_digits(value.substr(1))) {
        return fail(quoted(value) + " is negative" + expected);
    }
    if (!detail::all_digits(value)) {
        return fail(quoted(value) + " is not a whole number" + expected);
    }
    std::int64_t number = 0;
    for (char c : value) {
        number = number * 10 + (c - '0');
        if (number > max) {
            return fail(too_large(value));
        }
    }
    return number;
}

Status with_key(std::string_view key, const std::string& reason) {
    return fail(std::string(key) + ": " + reason);
}

}  // namespace

const std::vector<ConfigKeyInfo>& config_keys() {
    static const std::vector<ConfigKeyInfo> keys = {
        {kHostKey,
         "",
         "comma-separated management server addresses name-or-ip[:port] (port 8250 when omitted); order "
         "matters; spaces around entries are trimmed"},
        {kAlgorithmKey,
         kDefaultAlgorithm,
         "how each agent's server list is ordered: static, roundrobin, shuffle, hash"},
        {kCheckIntervalKey,
         kDefaultCheckInterval,
         "seconds between an agent's checks for its preferred server; 0 = off"},
        {kWeightsKey,
         "",
         "ADDRESS=WEIGHT,... for `hash`: each server's share of first places, 0..1000 (1 when not "
         "listed; 0 = last in every list); addresses as written in `host`"},
        {kBehaviourKey,
         kDefaultBehaviour,
         "how eagerly the servers move agents off a server above its weighted fair share of its zone: "
         "off, low, normal, aggressive; not off = agents get check interval 0"},
        {kModeKey,
         kDefaultMode,
         "performance (spread by weight, with the behaviour) or density (fill servers in `host` order up "
         "to agentlb.density.max.agents each)"},
        {kDensityMaxAgentsKey, "5000", "agents per server that density mode fills a server with"},
        {kModeScheduleKey,
         "",
         "when each mode applies, e.g. \"Mon-Fri 08:00-20:00 performance; density\" (UTC; first match "
         "wins; empty = agentlb.mode)"},
        {kStoreUnreachableLimit.name,
         "120",
         "seconds a management server serves without its store before it moves its agents to other "
         "servers and refuses new ones until the store answers; 0 = never"},
        {kDrainRate.name,
         "200",
         "agents per second a management server asks to move while it drains (maintenance, shutdown) or "
         "rebalances"},
        {kMaintenanceTimeout.name,
         "600",
         "seconds a maintenance drain may take; then the server ends the sessions still on it; 0 = no limit"},
        {kShutdownTimeout.name,
         "60",
         "seconds a management server drains on SIGTERM before it exits; 0 = exit at once"},
        {kAgentValidityKey,
         "365d",
         "validity of agent certificates issued from now on: a whole number with unit s, m, h or d (bare "
         "number: days), 60s to 3650d"},
        {kServerValidityKey,
         "365d",
         "validity of management server certificates issued from now on, 60s to 3650d (global only)"},
        {kKeyTypeKey, "p256", "key type of new keys (agents' and servers'): p256, p384, rsa3072"},
        {kRenewalFractionKey,
         "0.67",
         "agents and servers renew their certificate when this fraction of its validity has passed, 0.10 "
         "to 0.95"},
        {kAutomaticRenewalKey, "true", "true: agents and servers renew their certificates on their own"},
        {kExpiryAlertPeriodKey,
         "15d",
         "servers warn (log, /healthz detail, status) when their certificate or the CA expires within this, "
         "0 to 3650d; 0 = no warning (global only)"},
        {kExpiredGracePeriodKey,
         "0",
         "an agent whose certificate expired less than this ago (not revoked) may renew on the enrollment "
         "port with its old key, 0 to 3650d; 0 = off"},
        {kHandshakeMaxInflight.name,
         "0",
         "agent handshakes a management server runs at once (accept until welcome); a connection beyond "
         "that is told to try another server or to come back later; 0 = 512 per I/O thread (--threads), 0 "
         "to 100000 (global only)"},
        {kTicketLifetimeKey,
         "1h",
         "how long a TLS session ticket lets an agent resume (on any server), never beyond its certificate, "
         "0 to 7d; 0 = servers send no tickets (global only)"},
        {kTicketRotationKey,
         "12h",
         "how often the servers' shared ticket key is replaced; the previous key still resumes for one more "
         "period, older ones never; 10s to 30d, not below agentlb.tls.ticket.lifetime (global only)"},
    };
    return keys;
}

Result<std::int64_t> parse_check_interval(std::string_view value) {
    return parse_whole_number(
        value, kMaxCheckInterval, "; expected whole seconds, 0 or more", [](std::string_view text) {
            return quoted(text) + " is too large; at most " + std::to_string(kMaxCheckInterval) +
                   " (one year)";
        });
}

Status validate_config(std::string_view key, std::string_view value) {
    if (key == kHostKey) {
        auto hosts = parse_host_list(value);
        if (!hosts) {
            return with_key(key, hosts.error());
        }
        auto fits = check_list_fits_frames(value, *hosts);
        return fits ? success() : with_key(key, fits.error());
    }
    if (key == kAlgorithmKey) {
        auto algorithm = find_algorithm(value);
        return algorithm ? success() : with_key(key, algorithm.error());
    }
    if (key == kCheckIntervalKey) {
        auto seconds = parse_check_interval(value);
        return seconds ? success() : with_key(key, seconds.error());
    }
    if (key == kWeightsKey) {
        auto weights = parse_weights_syntax(value);
        return weights ? success() : with_key(key, weights.error());
    }
    if (is_rebalance_key(key)) {
        auto valid = validate_rebalance_value(key, value);
        return valid ? success() : with_key(key, valid.error());
    }
    for (const ServerKey* server_key : kServerKeys) {
        if (key == server_key->name) {
            auto number = parse_server_key(*server_key, value);
            return number ? success() : with_key(key, number.error());
        }
    }
    if (is_certificate_key(key)) {
        auto valid = validate_certificate_value(key, value);
        return valid ? success() : with_key(key, valid.error());
    }
    if (is_ticket_key(key)) {
        auto valid = validate_ticket_value(key, value);
        return valid ? success() : with_key(key, valid.error());
    }
    std::string known;
    for (const ConfigKeyInfo& info : config_keys()) {
        known += known.empty() ? "" : ", ";
        known += info.name;
    }
    return fail("unknown configuration key " + quoted(key) + "; known keys: " + known);
}

Status validate_config_with(std::string_view key,
                            std::string_view value,
                            const std::map<std::string, std::string>& stored) {
    const auto stored_value = [&stored](std::string_view name) {
        const auto it = stored.find(std::string(name));
        return it == stored.end() ? std::string() : it->second;
    };
    if (is_ticket_key(key)) {
        auto valid = validate_ticket_value_with(key, value, stored);
        return valid ? success() : with_key(key, valid.error());
    }
    if (key == kWeightsKey) {
        // An unset or corrupt stored `host` has no entries: every address is refused.
        auto hosts = parse_host_list(stored_value(kHostKey));
        auto weights = parse_weights(value, hosts ? *hosts : std::vector<std::string>{});
        return weights ? success() : with_key(key, weights.error());
    }
    if (key == kHostKey) {
        auto hosts = parse_host_list(value);
        auto weights = parse_weights_syntax(stored_value(kWeightsKey));
        if (!hosts || !weights) {
            return success();  // validate_config judges the value; a corrupt stored weight is not its fault
        }
        for (const auto& [address, weight] : *weights) {
            if (std::find(hosts->begin(), hosts->end(), address) == hosts->end()) {
                return with_key(key,
                                std::string(kWeightsKey) + " names " + quoted(address) +
                                    ", which this value does not hold as written; change " +
                                    std::string(kWeightsKey) + " first");
            }
        }
    }
    return success();
}

Result<Weights> weights_from_config(const std::map<std::string, std::string>& stored,
                                    const std::vector<std::string>& hosts) {
    const auto it = stored.find(std::string(kWeightsKey));
    if (it == stored.end()) {
        return Weights{};
    }
    auto weights = parse_weights(it->second, hosts);
    if (!weights) {
        return fail(std::string(kWeightsKey) + " (stored value): " + weights.error());
    }
    return weights;
}

Result<std::int64_t> parse_server_key(const ServerKey& key, std::string_view value) {
    const std::string expected = "; expected " + std::string(key.unit) + ", a whole number from " +
                                 std::to_string(key.min) + " to " + std::to_string(key.max);
    auto number = parse_whole_number(value, key.max, expected, [&expected](std::string_view text) {
        return quoted(text) + " is too large" + expected;
    });
    if (number && *number < key.min) {
        return fail(quoted(value) + " is too small" + expected);
    }
    return number;
}

Result<std::int64_t> server_key_from_config(const std::map<std::string, std::string>& stored,
                                            const ServerKey& key) {
    const auto it = stored.find(std::string(key.name));
    if (it == stored.end()) {
        return key.default_value;
    }
    auto number = parse_server_key(key, it->second);
    if (!number) {
        return fail(std::string(key.name) + " (stored value): " + number.error());
    }
    return *number;
}

Result<LbSettings> settings_from_config(const std::map<std::string, std::string>& stored) {
    auto lookup = [&stored](std::string_view key, std::string_view fallback) {
        auto it = stored.find(std::string(key));
        return it == stored.end() ? std::string(fallback) : it->second;
    };
    LbSettings settings{{}, lookup(kAlgorithmKey, kDefaultAlgorithm), 0};
    std::string host = lookup(kHostKey, "");
    if (!host.empty()) {
        auto hosts = parse_host_list(host);
        if (!hosts) {
            return fail(std::string(kHostKey) + " (stored value): " + hosts.error());
        }
        // Written by hand or by an older version: such a list would cut
        // every agent off, so it is refused like any corrupt value.
        if (auto fits = check_list_fits_frames(host, *hosts); !fits) {
            return fail(std::string(kHostKey) + " (stored value): " + fits.error());
        }
        settings.hosts = std::move(*hosts);
    }
    if (auto algorithm = find_algorithm(settings.algorithm); !algorithm) {
        return fail(std::string(kAlgorithmKey) + " (stored value): " + algorithm.error());
    }
    auto interval = parse_check_interval(lookup(kCheckIntervalKey, kDefaultCheckInterval));
    if (!interval) {
        return fail(std::string(kCheckIntervalKey) + " (stored value): " + interval.error());
    }
    settings.check_interval = *interval;
    // The rebalancer takes over from the preferred-server check (which would
    // send the agents it moves back to their first entry).
    auto rebalance = rebalance_settings_from_config(stored);
    if (!rebalance) {
        return fail(rebalance.error());
    }
    if (rebalance->may_act()) {
        settings.check_interval = 0;
    }
    return settings;
}

}  // namespace agentlb::lb
