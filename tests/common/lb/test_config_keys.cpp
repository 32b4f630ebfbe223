#include "common/lb/config_keys.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <string>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using namespace agentlb::lb;

namespace {

std::string config_refusal(std::string_view key, std::string_view value) {
    auto status = validate_config(key, value);
    INFO(key << " = " << value);
    REQUIRE_FALSE(status.ok());
    return status.error();
}

std::string settings_refusal(const std::map<std::string, std::string>& stored) {
    auto settings = settings_from_config(stored);
    REQUIRE_FALSE(settings.ok());
    return settings.error();
}

}  // namespace

TEST_CASE("config keys: names, order and defaults") {
    const auto& keys = config_keys();
    REQUIRE(keys.size() == 22);
    CHECK(keys[0].name == "host");
    CHECK(keys[0].default_value == "");
    CHECK(keys[1].name == "indirect.agent.lb.algorithm");
    CHECK(keys[1].default_value == "static");
    CHECK(keys[2].name == "indirect.agent.lb.check.interval");
    CHECK(keys[2].default_value == "0");
    CHECK(keys[3].name == "agentlb.server.weights");
    CHECK(keys[3].default_value == "");
    CHECK(keys[4].name == "agentlb.rebalance.behaviour");
    CHECK(keys[4].default_value == "off");
    CHECK(keys[5].name == "agentlb.mode");
    CHECK(keys[5].default_value == "performance");
    CHECK(keys[6].name == "agentlb.density.max.agents");
    CHECK(keys[6].default_value == "5000");
    CHECK(keys[7].name == "agentlb.mode.schedule");
    CHECK(keys[7].default_value == "");
    CHECK(keys[8].name == "agentlb.store.unreachable.limit");
    CHECK(keys[8].default_value == std::to_string(kDefaultStoreUnreachableLimit));
    CHECK(keys[9].name == "agentlb.drain.rate");
    CHECK(keys[10].name == "agentlb.maintenance.timeout");
    CHECK(keys[11].name == "agentlb.shutdown.timeout");
    CHECK(keys[12].name == "ca.framework.cert.validity.period");
    CHECK(keys[18].name == "agentlb.ca.expired.cert.grace.period");
    CHECK(keys[19].name == "agentlb.handshake.max.inflight");
    CHECK(keys[19].default_value == "0");
    CHECK(keys[20].name == "agentlb.tls.ticket.lifetime");
    CHECK(keys[20].default_value == "1h");
    CHECK(keys[21].name == "agentlb.tls.ticket.key.rotation.period");
    CHECK(keys[21].default_value == "12h");
    for (const auto& key : keys) {
        CHECK_FALSE(key.meaning.empty());
    }
}

TEST_CASE("validate_config: accepted values") {
    CHECK(validate_config(kHostKey, "ms1, ms2:9000").ok());
    CHECK(validate_config(kAlgorithmKey, "roundrobin").ok());
    CHECK(validate_config(kCheckIntervalKey, "0").ok());
    CHECK(validate_config(kCheckIntervalKey, "31536000").ok());
    CHECK(validate_config(kStoreUnreachableLimitKey, "0").ok());
    CHECK(validate_config(kStoreUnreachableLimitKey, "3").ok());
}

TEST_CASE("agentlb.store.unreachable.limit: refusals name the key, stored values read with a default") {
    CHECK(config_refusal("agentlb.store.unreachable.limit", "-1") ==
          "agentlb.store.unreachable.limit: \"-1\" is negative; expected seconds, a whole number from 0 to "
          "31536000");
    CHECK_THAT(config_refusal("agentlb.store.unreachable.limit", "2m"),
               StartsWith("agentlb.store.unreachable.limit: \"2m\" is not a whole number"));
    CHECK_THAT(config_refusal("agentlb.store.unreachable.limit", ""),
               StartsWith("agentlb.store.unreachable.limit: the value is empty"));
    CHECK(*server_key_from_config({}, kStoreUnreachableLimit) == kDefaultStoreUnreachableLimit);
    CHECK(*server_key_from_config({{"agentlb.store.unreachable.limit", "0"}}, kStoreUnreachableLimit) == 0);
    const auto corrupt =
        server_key_from_config({{"agentlb.store.unreachable.limit", "x"}}, kStoreUnreachableLimit);
    REQUIRE_FALSE(corrupt.ok());
    CHECK_THAT(corrupt.error(), StartsWith("agentlb.store.unreachable.limit (stored value): "));
    // The agents' settings ignore it.
    CHECK(settings_from_config({{"agentlb.store.unreachable.limit", "x"}}).ok());
}

TEST_CASE("drain keys: ranges, defaults, refusals naming the key") {
    CHECK(validate_config("agentlb.drain.rate", "1").ok());
    CHECK(validate_config("agentlb.drain.rate", "100000").ok());
    CHECK(config_refusal("agentlb.drain.rate", "0") ==
          "agentlb.drain.rate: \"0\" is too small; expected agents per second, a whole number from 1 to "
          "100000");
    CHECK_THAT(config_refusal("agentlb.drain.rate", "100001"),
               StartsWith("agentlb.drain.rate: \"100001\" is too large"));
    CHECK_THAT(config_refusal("agentlb.drain.rate", "99999999999999999999999"),
               StartsWith("agentlb.drain.rate: \"99999999999999999999999\" is too large"));
    CHECK(validate_config("agentlb.maintenance.timeout", "0").ok());
    CHECK_THAT(config_refusal("agentlb.maintenance.timeout", "5m"),
               StartsWith("agentlb.maintenance.timeout: \"5m\" is not a whole number"));
    CHECK(validate_config("agentlb.shutdown.timeout", "3600").ok());
    CHECK_THAT(config_refusal("agentlb.shutdown.timeout", "3601"),
               StartsWith("agentlb.shutdown.timeout: \"3601\" is too large"));
    CHECK(*server_key_from_config({}, kDrainRate) == 200);
    CHECK(*server_key_from_config({}, kMaintenanceTimeout) == 600);
    CHECK(*server_key_from_config({}, kShutdownTimeout) == 60);
    CHECK(validate_config("agentlb.handshake.max.inflight", "0").ok());
    CHECK(validate_config("agentlb.handshake.max.inflight", "100000").ok());
    CHECK_THAT(config_refusal("agentlb.handshake.max.inflight", "100001"),
               StartsWith("agentlb.handshake.max.inflight: \"100001\" is too large"));
    CHECK_THAT(config_refusal("agentlb.handshake.max.inflight", "-1"),
               StartsWith("agentlb.handshake.max.inflight: \"-1\" is negative"));
    CHECK(*server_key_from_config({}, kHandshakeMaxInflight) == 0);
    CHECK(*server_key_from_config({{"agentlb.drain.rate", "7"}}, kDrainRate) == 7);
    const auto corrupt = server_key_from_config({{"agentlb.shutdown.timeout", "-1"}}, kShutdownTimeout);
    REQUIRE_FALSE(corrupt.ok());
    CHECK_THAT(corrupt.error(), StartsWith("agentlb.shutdown.timeout (stored value): "));
    // Every server key's documented default is the one it applies.
    for (const ServerKey* key : kServerKeys) {
        const auto info = std::find_if(config_keys().begin(),
                                       config_keys().end(),
                                       [&](const ConfigKeyInfo& i) { return i.name == key->name; });
        REQUIRE(info != config_keys().end());
        CHECK(info->default_value == std::to_string(key->default_value));
    }
}

TEST_CASE("validate_config: unknown key lists the known ones") {
    CHECK(config_refusal("x", "1") ==
          "unknown configuration key \"x\"; known keys: host, indirect.agent.lb.algorithm, "
          "indirect.agent.lb.check.interval, agentlb.server.weights, agentlb.rebalance.behaviour, "
          "agentlb.mode, agentlb.density.max.agents, agentlb.mode.schedule, "
          "agentlb.store.unreachable.limit, "
          "agentlb.drain.rate, "
          "agentlb.maintenance.timeout, agentlb.shutdown.timeout, ca.framework.cert.validity.period, "
          "agentlb.ca.server.cert.validity.period, agentlb.ca.key.type, agentlb.ca.cert.renewal.fraction, "
          "ca.framework.cert.automatic.renewal, ca.framework.cert.expiry.alert.period, "
          "agentlb.ca.expired.cert.grace.period, agentlb.handshake.max.inflight, "
          "agentlb.tls.ticket.lifetime, agentlb.tls.ticket.key.rotation.period");
}

TEST_CASE("validate_config: host refusals start with the key") {
    CHECK(config_refusal("host", "a,,b") ==
          "host: entry 2 is empty (two commas in a row, or a comma at the start or end)");
    CHECK_THAT(config_refusal("host", ""), StartsWith("host: ") && Contains("empty"));
    CHECK_THAT(config_refusal("host", "a,b_"), StartsWith("host: entry 2 \"b_\""));
    CHECK_THAT(config_refusal("host", "a:0"), StartsWith("host: ") && Contains("out of range"));
    CHECK_THAT(config_refusal("host", "a,a:8250"),
               StartsWith("host: ") && Contains("\"a\"") && Contains("\"a:8250\""));
}

TEST_CASE("validate_config: algorithm refusals start with the key") {
    CHECK(config_refusal(kAlgorithmKey, "foo") ==
          "indirect.agent.lb.algorithm: unknown algorithm \"foo\"; expected one of: static, roundrobin, "
          "shuffle, hash");
    CHECK_THAT(config_refusal(kAlgorithmKey, ""), StartsWith("indirect.agent.lb.algorithm: "));
}

TEST_CASE("validate_config: check interval refusals start with the key") {
    CHECK(config_refusal(kCheckIntervalKey, "-5") ==
          "indirect.agent.lb.check.interval: \"-5\" is negative; expected whole seconds, 0 or more");
    CHECK(
        config_refusal(kCheckIntervalKey, "abc") ==
        "indirect.agent.lb.check.interval: \"abc\" is not a whole number; expected whole seconds, 0 or more");
    CHECK_THAT(config_refusal(kCheckIntervalKey, ""),
               StartsWith("indirect.agent.lb.check.interval: ") && Contains("empty"));
    for (std::string_view bad : {"1e3", "+5", " 5", "5 ", "1.5", "0x10", "-", "--5"}) {
        CHECK_THAT(config_refusal(kCheckIntervalKey, bad), Contains("is not a whole number"));
    }
    CHECK_THAT(config_refusal(kCheckIntervalKey, "31536001"), Contains("too large") && Contains("31536000"));
    CHECK_THAT(config_refusal(kCheckIntervalKey, "99999999999999999999999"), Contains("too large"));
}

TEST_CASE("parse_check_interval: values") {
    auto zero = parse_check_interval("0");
    REQUIRE(zero.ok());
    CHECK(*zero == 0);
    auto minute = parse_check_interval("060");
    REQUIRE(minute.ok());
    CHECK(*minute == 60);
    auto year = parse_check_interval("31536000");
    REQUIRE(year.ok());
    CHECK(*year == kMaxCheckInterval);
}

TEST_CASE("settings_from_config: defaults for an empty store") {
    auto settings = settings_from_config({});
    REQUIRE(settings.ok());
    CHECK(settings->hosts.empty());
    CHECK(settings->algorithm == "static");
    CHECK(settings->check_interval == 0);
}

TEST_CASE("settings_from_config: stored values, unrelated keys ignored") {
    auto settings = settings_from_config({{"host", "ms1 , ms2:9000"},
                                          {"indirect.agent.lb.algorithm", "shuffle"},
                                          {"indirect.agent.lb.check.interval", "30"},
                                          {"some.other.key", "x"}});
    REQUIRE(settings.ok());
    CHECK(settings->hosts == std::vector<std::string>{"ms1", "ms2:9000"});
    CHECK(settings->algorithm == "shuffle");
    CHECK(settings->check_interval == 30);
}

TEST_CASE("settings_from_config: a corrupt stored value names the key") {
    CHECK_THAT(settings_refusal({{"host", "a,,b"}}), StartsWith("host") && Contains("entry 2 is empty"));
    CHECK_THAT(settings_refusal({{"indirect.agent.lb.algorithm", "nope"}}),
               StartsWith("indirect.agent.lb.algorithm") && Contains("unknown algorithm"));
    CHECK_THAT(settings_refusal({{"indirect.agent.lb.check.interval", "-1"}}),
               StartsWith("indirect.agent.lb.check.interval") && Contains("negative"));
}
