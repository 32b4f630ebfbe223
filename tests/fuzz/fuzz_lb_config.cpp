// Configuration values as an operator or a file writes them (common/lb):
// validate_config for each key, the `host` list, the agent's "a,b@algo".
//
// Properties: validate_config agrees with the parser behind each key and
// with settings_from_config; a refusal starts with the key and shows no raw
// control bytes; an accepted host list re-parses to the same entries after
// join, each entry's canonical form names the same server and no two entries
// do; an accepted "a,b@algo" formats and re-parses to the same value; an
// accepted interval is within bounds and re-parses from its decimal form;
// accepted weights are in range and format and re-parse to the same map;
// the rebalancer's keys agree with rebalance_settings_from_config.

#include "common/lb/algorithm.hpp"
#include "common/lb/config_keys.hpp"
#include "common/lb/endpoint.hpp"
#include "common/lb/host_list.hpp"
#include "common/lb/rebalance_settings.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace lb = agentlb::lb;
using agentlb::fuzz::free_of_control_bytes;

namespace {

void check_refusal(const agentlb::Status& status, std::string_view key) {
    if (!status) {
        FUZZ_CHECK(status.error().rfind(std::string(key) + ": ", 0) == 0, "a refusal starts with the key");
        FUZZ_CHECK(free_of_control_bytes(status.error()), "a refusal is safe to print");
    }
}

void check_host_list(std::string_view value) {
    const auto status = lb::validate_config(lb::kHostKey, value);
    check_refusal(status, lb::kHostKey);
    const auto hosts = lb::parse_host_list(value);
    FUZZ_CHECK(status.ok() == hosts.ok(), "validate_config(host) is parse_host_list");

    const auto settings = lb::settings_from_config({{std::string(lb::kHostKey), std::string(value)}});
    FUZZ_CHECK(settings.ok() == (value.empty() || hosts.ok()), "a stored host is read as it was validated");
    if (!hosts) {
        return;
    }
    FUZZ_CHECK(settings->hosts == *hosts, "the stored list is the validated one");
    FUZZ_CHECK(!hosts->empty(), "an accepted list has entries");
    std::set<std::string> identities;
    for (const auto& entry : *hosts) {
        auto endpoint = lb::parse_endpoint(entry);
        FUZZ_CHECK(endpoint.ok(), "each accepted entry is an endpoint");
        FUZZ_CHECK(endpoint->port != 0, "ports are 1..65535");
        const std::string canonical = lb::to_string(*endpoint);
        auto reparsed = lb::parse_endpoint(canonical);
        FUZZ_CHECK(reparsed.ok(), "the canonical form of an entry parses");
        FUZZ_CHECK(lb::identity_key(*reparsed) == lb::identity_key(*endpoint),
                   "the canonical form names the same server");
        FUZZ_CHECK(lb::same_endpoint(entry, canonical), "same_endpoint agrees with identity_key");
        FUZZ_CHECK(identities.insert(lb::identity_key(*endpoint)).second, "no two entries name one server");
    }
    const auto again = lb::parse_host_list(lb::join_host_list(*hosts));
    FUZZ_CHECK(again.ok() && *again == *hosts, "an accepted list joins and re-parses to the same entries");
}

void check_algorithm(std::string_view value) {
    const auto status = lb::validate_config(lb::kAlgorithmKey, value);
    check_refusal(status, lb::kAlgorithmKey);
    const auto found = lb::find_algorithm(value);
    FUZZ_CHECK(status.ok() == found.ok(), "validate_config(algorithm) is find_algorithm");
    if (found) {
        FUZZ_CHECK((*found)->name() == value, "the algorithm found is the one named");
    }
}

void check_interval(std::string_view value) {
    const auto status = lb::validate_config(lb::kCheckIntervalKey, value);
    check_refusal(status, lb::kCheckIntervalKey);
    const auto seconds = lb::parse_check_interval(value);
    FUZZ_CHECK(status.ok() == seconds.ok(), "validate_config(interval) is parse_check_interval");
    if (seconds) {
        FUZZ_CHECK(*seconds >= 0 && *seconds <= lb::kMaxCheckInterval, "an accepted interval is in bounds");
        const auto again = lb::parse_check_interval(std::to_string(*seconds));
        FUZZ_CHECK(again.ok() && *again == *seconds, "an interval re-parses from its decimal form");
    }
}

void check_weights(std::string_view value) {
    const auto status = lb::validate_config(lb::kWeightsKey, value);
    check_refusal(status, lb::kWeightsKey);
    const auto weights = lb::parse_weights_syntax(value);
    FUZZ_CHECK(status.ok() == weights.ok(), "validate_config(weights) is parse_weights_syntax");
    if (!weights) {
        return;
    }
    for (const auto& [address, weight] : *weights) {
        FUZZ_CHECK(!address.empty() && weight >= 0 && weight <= lb::kMaxWeight,
                   "an accepted weight is in range");
    }
    const auto again = lb::parse_weights_syntax(lb::format_weights(*weights));
    FUZZ_CHECK(again.ok() && *again == *weights, "accepted weights format and re-parse to the same map");
    // Against a `host` of the value's own addresses, the same map.
    std::vector<std::string> hosts;
    for (const auto& [address, weight] : *weights) {
        hosts.push_back(address);
    }
    const auto checked = lb::parse_weights(value, hosts);
    FUZZ_CHECK(checked.ok() && *checked == *weights, "weights naming `host` entries are accepted");
}

void check_rebalance_keys(std::string_view value) {
    for (const auto key : {lb::kBehaviourKey, lb::kModeKey, lb::kDensityMaxAgentsKey, lb::kModeScheduleKey}) {
        const auto status = lb::validate_config(key, value);
        check_refusal(status, key);
        const auto settings = lb::rebalance_settings_from_config({{std::string(key), std::string(value)}});
        FUZZ_CHECK(settings.ok() == status.ok(), "a stored value is read exactly when it is accepted");
        if (settings && key == lb::kDensityMaxAgentsKey) {
            FUZZ_CHECK(
                settings->density_max_agents >= 1 && settings->density_max_agents <= lb::kMaxDensityMaxAgents,
                "an accepted maximum is in range");
        }
    }
}

void check_agent_host_value(std::string_view value) {
    const auto parsed = lb::parse_agent_host_value(value);
    if (!parsed) {
        FUZZ_CHECK(free_of_control_bytes(parsed.error()), "a refusal is safe to print");
        return;
    }
    FUZZ_CHECK(!parsed->hosts.empty(), "an accepted value has hosts");
    const bool has_at = value.find('@') != std::string_view::npos;
    FUZZ_CHECK(has_at != parsed->algorithm.empty(), "a value holds no algorithm exactly when it has no '@'");
    FUZZ_CHECK(parsed->algorithm.empty() || lb::is_algorithm_name(parsed->algorithm),
               "an accepted value names an algorithm (known or not) or none");
    const auto again = lb::parse_agent_host_value(lb::format_agent_host_value(*parsed));
    FUZZ_CHECK(again.ok(), "a formatted value parses");
    FUZZ_CHECK(again->hosts == parsed->hosts && again->algorithm == parsed->algorithm,
               "an accepted value formats and re-parses to the same entries");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view value(reinterpret_cast<const char*>(data), size);
    check_host_list(value);
    check_algorithm(value);
    check_interval(value);
    check_agent_host_value(value);
    check_weights(value);
    check_rebalance_keys(value);

    // An unknown key (the input itself) is refused naming the known ones.
    bool known = false;
    for (const auto& info : lb::config_keys()) {
        known = known || info.name == value;
    }
    if (!known) {
        const auto status = lb::validate_config(value, "x");
        FUZZ_CHECK(!status.ok(), "an unknown key is refused");
        FUZZ_CHECK(free_of_control_bytes(status.error()), "the refusal is safe to print");
        FUZZ_CHECK(status.error().find(std::string(lb::kHostKey)) != std::string::npos,
                   "it lists the known keys");
    }
    return 0;
}
