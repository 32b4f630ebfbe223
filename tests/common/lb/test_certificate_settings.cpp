// The CA framework's settings (issue 16): parsing, ranges, defaults, and
// that validate_config and the scope rules apply them.

#include "common/lb/certificate_settings.hpp"
#include "common/lb/config_keys.hpp"
#include "common/lb/scoped_config.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using Catch::Matchers::StartsWith;
using namespace agentlb::lb;
using namespace std::chrono_literals;
using agentlb::certs::KeyType;

namespace {

std::string certificate_refusal(std::string_view key, std::string_view value) {
    auto status = validate_config(key, value);
    INFO(key << " = " << value);
    REQUIRE_FALSE(status.ok());
    return status.error();
}

}  // namespace

TEST_CASE("certificate durations: units s m h d and a bare number is days") {
    CHECK(*parse_certificate_duration("90s") == 90s);
    CHECK(*parse_certificate_duration("2m") == 120s);
    CHECK(*parse_certificate_duration("12h") == 12h);
    CHECK(*parse_certificate_duration("365d") == std::chrono::hours(24 * 365));
    CHECK(*parse_certificate_duration("30") == std::chrono::hours(24 * 30));
    CHECK(*parse_certificate_duration("0") == 0s);
    for (const char* bad : {"", "d", "1.5d", "-1d", "10w", "1 d", " 1d", "1D", "abc"}) {
        INFO(bad);
        CHECK_FALSE(parse_certificate_duration(bad).ok());
    }
    CHECK_FALSE(parse_certificate_duration("99999999999d").ok());
    CHECK(describe_duration(90s) == "90s");
    CHECK(describe_duration(120s) == "2m");
    CHECK(describe_duration(std::chrono::hours(24 * 3650)) == "3650d");
}

TEST_CASE("validity keys: 60s to 3650d, each refusal naming the key") {
    for (std::string_view key : {kAgentValidityKey, kServerValidityKey}) {
        CHECK(validate_config(key, "60s").ok());
        CHECK(validate_config(key, "3650d").ok());
        CHECK(validate_config(key, "365").ok());
        CHECK_THAT(certificate_refusal(key, "59s"),
                   StartsWith(std::string(key) + ": \"59s\" is out of range; expected 1m to 3650d"));
        CHECK_THAT(certificate_refusal(key, "3651d"),
                   StartsWith(std::string(key) + ": \"3651d\" is out of range"));
        CHECK_THAT(certificate_refusal(key, "0"), StartsWith(std::string(key) + ": \"0\" is out of range"));
        CHECK_THAT(certificate_refusal(key, "soon"),
                   StartsWith(std::string(key) + ": \"soon\" is not a duration"));
    }
}

TEST_CASE("alert and grace periods: 0 to 3650d") {
    for (std::string_view key : {kExpiryAlertPeriodKey, kExpiredGracePeriodKey}) {
        CHECK(validate_config(key, "0").ok());
        CHECK(validate_config(key, "0s").ok());
        CHECK(validate_config(key, "15d").ok());
        CHECK_THAT(certificate_refusal(key, "3651d"),
                   StartsWith(std::string(key) + ": \"3651d\" is out of range; expected 0s to 3650d"));
        CHECK_THAT(certificate_refusal(key, "-1"),
                   StartsWith(std::string(key) + ": \"-1\" is not a duration"));
    }
}

TEST_CASE("key type, renewal fraction and automatic renewal") {
    CHECK(validate_config(kKeyTypeKey, "p256").ok());
    CHECK(validate_config(kKeyTypeKey, "p384").ok());
    CHECK(validate_config(kKeyTypeKey, "rsa3072").ok());
    CHECK(certificate_refusal(kKeyTypeKey, "rsa2048") ==
          "agentlb.ca.key.type: \"rsa2048\" is not a key type; expected p256, p384 or rsa3072");
    CHECK_FALSE(validate_config(kKeyTypeKey, "P256").ok());

    CHECK(*parse_renewal_fraction("0.67") == 670);
    CHECK(*parse_renewal_fraction("0.1") == 100);
    CHECK(*parse_renewal_fraction("0.95") == 950);
    CHECK(*parse_renewal_fraction("0.675") == 675);
    CHECK_THAT(certificate_refusal(kRenewalFractionKey, "0.09"),
               StartsWith("agentlb.ca.cert.renewal.fraction: \"0.09\" is out of range; expected a fraction "
                          "from 0.10 to 0.95"));
    CHECK_THAT(certificate_refusal(kRenewalFractionKey, "0.96"),
               StartsWith("agentlb.ca.cert.renewal.fraction: \"0.96\" is out of range"));
    CHECK_THAT(certificate_refusal(kRenewalFractionKey, "1"),
               StartsWith("agentlb.ca.cert.renewal.fraction: \"1\" is out of range"));
    CHECK_THAT(certificate_refusal(kRenewalFractionKey, "0.6666"),
               StartsWith("agentlb.ca.cert.renewal.fraction: \"0.6666\" has more than three decimals"));
    for (const char* bad : {"", ".", ".5", "67%", "2/3", "-0.5", "0,67", "0.6.7"}) {
        INFO(bad);
        CHECK_THAT(certificate_refusal(kRenewalFractionKey, bad),
                   StartsWith("agentlb.ca.cert.renewal.fraction: "));
    }

    CHECK(validate_config(kAutomaticRenewalKey, "true").ok());
    CHECK(validate_config(kAutomaticRenewalKey, "FALSE").ok());
    CHECK(certificate_refusal(kAutomaticRenewalKey, "yes") ==
          "ca.framework.cert.automatic.renewal: \"yes\" is not a boolean; expected true or false");
}

TEST_CASE("certificate settings: defaults, stored values, corrupt stored values") {
    auto defaults = certificate_settings_from_config({{"host", "ms1"}});
    REQUIRE(defaults.ok());
    CHECK(defaults->agent_validity == std::chrono::hours(24 * 365));
    CHECK(defaults->server_validity == std::chrono::hours(24 * 365));
    CHECK(defaults->key_type == KeyType::p256);
    CHECK(defaults->renewal_permille == 670);
    CHECK(defaults->automatic_renewal);
    CHECK(defaults->expiry_alert_period == std::chrono::hours(24 * 15));
    CHECK(defaults->expired_grace_period == 0s);

    auto set = certificate_settings_from_config({{std::string(kAgentValidityKey), "90s"},
                                                 {std::string(kServerValidityKey), "2h"},
                                                 {std::string(kKeyTypeKey), "rsa3072"},
                                                 {std::string(kRenewalFractionKey), "0.5"},
                                                 {std::string(kAutomaticRenewalKey), "false"},
                                                 {std::string(kExpiryAlertPeriodKey), "1d"},
                                                 {std::string(kExpiredGracePeriodKey), "30"}});
    REQUIRE(set.ok());
    CHECK(set->agent_validity == 90s);
    CHECK(set->server_validity == 2h);
    CHECK(set->key_type == KeyType::rsa3072);
    CHECK(set->renewal_permille == 500);
    CHECK_FALSE(set->automatic_renewal);
    CHECK(set->expiry_alert_period == 24h);
    CHECK(set->expired_grace_period == std::chrono::hours(24 * 30));

    auto corrupt = certificate_settings_from_config({{std::string(kKeyTypeKey), "dsa"}});
    REQUIRE_FALSE(corrupt.ok());
    CHECK_THAT(corrupt.error(), StartsWith("agentlb.ca.key.type (stored value): "));
}

TEST_CASE("documented defaults of the certificate keys are the applied ones") {
    auto defaults = certificate_settings_from_config({});
    REQUIRE(defaults.ok());
    std::map<std::string, std::string> documented;
    for (const ConfigKeyInfo& info : config_keys()) {
        if (is_certificate_key(info.name)) {
            documented[std::string(info.name)] = std::string(info.default_value);
        }
    }
    REQUIRE(documented.size() == 7);
    auto from_docs = certificate_settings_from_config(documented);
    REQUIRE(from_docs.ok());
    CHECK(from_docs->agent_validity == defaults->agent_validity);
    CHECK(from_docs->server_validity == defaults->server_validity);
    CHECK(from_docs->key_type == defaults->key_type);
    CHECK(from_docs->renewal_permille == defaults->renewal_permille);
    CHECK(from_docs->automatic_renewal == defaults->automatic_renewal);
    CHECK(from_docs->expiry_alert_period == defaults->expiry_alert_period);
    CHECK(from_docs->expired_grace_period == defaults->expired_grace_period);
}

TEST_CASE("the server validity and the alert period are global only and the other certificate keys scope") {
    for (std::string_view key : {kServerValidityKey, kExpiryAlertPeriodKey}) {
        CHECK(is_server_only_key(key));
        const auto refused = check_scoped_change({}, {"z1", ""}, key, std::string("30d"));
        REQUIRE_FALSE(refused);
        CHECK_THAT(refused.error(), StartsWith(std::string(key) + ": cannot be set per zone or cluster"));
        CHECK(check_scoped_change({}, {}, key, std::string("30d")));
    }
    for (std::string_view key : {kAgentValidityKey, kExpiredGracePeriodKey}) {
        CHECK_FALSE(is_server_only_key(key));
        CHECK(check_scoped_change({}, {"z1", "c1"}, key, std::string("30d")));
    }
    CHECK(check_scoped_change({}, {"z1", ""}, kKeyTypeKey, std::string("p384")));
    CHECK(check_scoped_change({}, {"z1", ""}, kRenewalFractionKey, std::string("0.5")));
    CHECK(check_scoped_change({}, {"z1", ""}, kAutomaticRenewalKey, std::string("false")));
    const auto bad = check_scoped_change({}, {"z1", "c1"}, kKeyTypeKey, std::string("x"));
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.error(), StartsWith("agentlb.ca.key.type: "));
}
