// The TLS session ticket settings (issue 17): parsing, ranges, the rotation
// period never below the lifetime, defaults, and global only.

#include "common/lb/config_keys.hpp"
#include "common/lb/scoped_config.hpp"
#include "common/lb/ticket_settings.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <string>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using namespace agentlb::lb;
using namespace std::chrono_literals;

namespace {

// What storing `value` under `key` on top of `global` says ("" when accepted).
std::string ticket_refusal(std::string_view key,
                           std::string_view value,
                           std::map<std::string, std::string> global = {}) {
    ScopedConfig config;
    config.global = std::move(global);
    auto status = check_scoped_change(config, {}, key, std::string(value));
    return status ? std::string() : status.error();
}

}  // namespace

TEST_CASE("ticket lifetime: 0 to 7 days, with the CA keys' units") {
    // A rotation period long enough for any lifetime in range.
    const std::map<std::string, std::string> long_rotation{{std::string(kTicketRotationKey), "30d"}};
    CHECK(ticket_refusal(kTicketLifetimeKey, "0").empty());
    CHECK(ticket_refusal(kTicketLifetimeKey, "90s").empty());
    CHECK(ticket_refusal(kTicketLifetimeKey, "7d", long_rotation).empty());
    CHECK(ticket_refusal(kTicketLifetimeKey, "7", long_rotation)
              .empty());  // a bare number means days, as for the CA keys
    CHECK_THAT(ticket_refusal(kTicketLifetimeKey, "8d", long_rotation),
               StartsWith("agentlb.tls.ticket.lifetime: \"8d\" is out of range; expected 0s to 7d"));
    CHECK_THAT(ticket_refusal(kTicketLifetimeKey, "1w"),
               StartsWith("agentlb.tls.ticket.lifetime: \"1w\" is not a duration"));
    CHECK_THAT(ticket_refusal(kTicketLifetimeKey, ""),
               StartsWith("agentlb.tls.ticket.lifetime: the value is empty"));
}

TEST_CASE("ticket key rotation: 10 seconds to 30 days") {
    // The lifetime 0 sends no tickets: any rotation period in range goes.
    const std::map<std::string, std::string> no_tickets{{std::string(kTicketLifetimeKey), "0"}};
    CHECK(ticket_refusal(kTicketRotationKey, "10s", no_tickets).empty());
    CHECK(ticket_refusal(kTicketRotationKey, "30d", no_tickets).empty());
    CHECK_THAT(
        ticket_refusal(kTicketRotationKey, "9s", no_tickets),
        StartsWith("agentlb.tls.ticket.key.rotation.period: \"9s\" is out of range; expected 10s to 30d"));
    CHECK_THAT(ticket_refusal(kTicketRotationKey, "31d", no_tickets), Contains("is out of range"));
}

TEST_CASE("the rotation period is never below the ticket lifetime, whichever is set, naming both values") {
    // Defaults: lifetime 1h, rotation 12h.
    const std::string shorter = ticket_refusal(kTicketRotationKey, "30m");
    CHECK_THAT(shorter, StartsWith("agentlb.tls.ticket.key.rotation.period: the key rotation period"));
    CHECK_THAT(shorter, Contains("agentlb.tls.ticket.key.rotation.period 30m"));
    CHECK_THAT(shorter, Contains("agentlb.tls.ticket.lifetime 1h"));
    CHECK(ticket_refusal(kTicketRotationKey, "1h").empty());

    const std::string longer =
        ticket_refusal(kTicketLifetimeKey, "1d", {{std::string(kTicketRotationKey), "2h"}});
    CHECK_THAT(longer, StartsWith("agentlb.tls.ticket.lifetime: the key rotation period"));
    CHECK_THAT(longer, Contains("agentlb.tls.ticket.key.rotation.period 2h"));
    CHECK_THAT(longer, Contains("agentlb.tls.ticket.lifetime 1d"));
    CHECK(ticket_refusal(kTicketLifetimeKey, "2h", {{std::string(kTicketRotationKey), "2h"}}).empty());
}

TEST_CASE("ticket settings are global only") {
    for (std::string_view key : {kTicketLifetimeKey, kTicketRotationKey}) {
        CHECK(is_server_only_key(key));
        ScopedConfig config;
        auto refused = check_scoped_change(config, {"z1", ""}, key, std::string("1d"));
        REQUIRE_FALSE(refused);
        CHECK_THAT(refused.error(), StartsWith(std::string(key) + ": cannot be set per zone or cluster"));
    }
}

TEST_CASE("ticket settings from the configuration: defaults, stored values, a corrupt value named") {
    auto defaults = ticket_settings_from_config({});
    REQUIRE(defaults);
    CHECK(defaults->lifetime == 1h);
    CHECK(defaults->rotation == 12h);
    auto set = ticket_settings_from_config(
        {{std::string(kTicketLifetimeKey), "0"}, {std::string(kTicketRotationKey), "10s"}});
    REQUIRE(set);
    CHECK(set->lifetime == 0s);
    CHECK(set->rotation == 10s);
    auto corrupt = ticket_settings_from_config({{std::string(kTicketRotationKey), "soon"}});
    REQUIRE_FALSE(corrupt);
    CHECK_THAT(corrupt.error(), StartsWith("agentlb.tls.ticket.key.rotation.period (stored value): "));
    // The documented defaults are the ones applied.
    for (const ConfigKeyInfo& info : config_keys()) {
        if (is_ticket_key(info.name)) {
            auto from_docs =
                ticket_settings_from_config({{std::string(info.name), std::string(info.default_value)}});
            REQUIRE(from_docs);
            CHECK(from_docs->lifetime == defaults->lifetime);
            CHECK(from_docs->rotation == defaults->rotation);
        }
    }
}
