#pragma once

// The CA framework's settings (issue 16): certificate validity, key type,
// renewal, expiry alerts and the expired-certificate grace. CloudStack names
// where CloudStack has the setting (ca.framework.*), agentlb.ca.* otherwise.
// Read by agentlb-mgmt (and sent to agents in the `renewal` object); pure.

#include "certs/key_type.hpp"
#include "common/util/result.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace agentlb::lb {

inline constexpr std::string_view kAgentValidityKey = "ca.framework.cert.validity.period";
inline constexpr std::string_view kServerValidityKey = "agentlb.ca.server.cert.validity.period";
inline constexpr std::string_view kKeyTypeKey = "agentlb.ca.key.type";
inline constexpr std::string_view kRenewalFractionKey = "agentlb.ca.cert.renewal.fraction";
inline constexpr std::string_view kAutomaticRenewalKey = "ca.framework.cert.automatic.renewal";
inline constexpr std::string_view kExpiryAlertPeriodKey = "ca.framework.cert.expiry.alert.period";
inline constexpr std::string_view kExpiredGracePeriodKey = "agentlb.ca.expired.cert.grace.period";

inline constexpr std::chrono::seconds kMinCertificateValidity{60};
inline constexpr std::chrono::seconds kMaxCertificatePeriod = std::chrono::hours(24 * 3650);
// Renew at two thirds of the life, as agents always have.
inline constexpr int kDefaultRenewalPermille = 670;
inline constexpr int kMinRenewalPermille = 100;
inline constexpr int kMaxRenewalPermille = 950;

struct CertificateSettings {
    std::chrono::seconds agent_validity = std::chrono::hours(24 * 365);
    std::chrono::seconds server_validity = std::chrono::hours(24 * 365);
    certs::KeyType key_type = certs::KeyType::p256;
    int renewal_permille = kDefaultRenewalPermille;  // of the validity, 100..950
    bool automatic_renewal = true;
    std::chrono::seconds expiry_alert_period = std::chrono::hours(24 * 15);
    std::chrono::seconds expired_grace_period{0};  // 0: expired certificates are not renewed
};

// A whole number with a unit `s`, `m`, `h` or `d` ("90s", "12h", "365d"); a
// bare number means days (CloudStack's habit). The message does not name the key.
Result<std::chrono::seconds> parse_certificate_duration(std::string_view value);

// "0.67" -> 670: a decimal fraction with at most three decimals, 0.10..0.95.
Result<int> parse_renewal_fraction(std::string_view value);

// `true` or `false`, any case.
Result<bool> parse_boolean(std::string_view value);

// Whether `key` is one of the seven keys above.
bool is_certificate_key(std::string_view key);

// The two keys each management server reads for itself (its own
// certificate's validity, the alert period): global only.
bool is_certificate_server_only_key(std::string_view key);

// Validates one of the seven keys' values; the message does not name the key.
Status validate_certificate_value(std::string_view key, std::string_view value);

// The seven keys from an effective configuration (defaults when unset); a
// corrupt stored value is an error naming the key.
Result<CertificateSettings> certificate_settings_from_config(
    const std::map<std::string, std::string>& stored);

// "90s", "2m", "12h", "365d": the largest unit that divides the duration, for messages and status.
std::string describe_duration(std::chrono::seconds duration);

}  // namespace agentlb::lb
