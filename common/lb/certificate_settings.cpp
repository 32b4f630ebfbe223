#include "common/lb/certificate_settings.hpp"

#include "common/lb/text.hpp"

#include <cctype>
#include <cstdint>
#include <string>

namespace agentlb::lb {
namespace {

using detail::quoted;

constexpr std::int64_t kDaySeconds = 86400;

struct DurationRange {
    std::chrono::seconds min;
    std::chrono::seconds max;
};

constexpr DurationRange kValidityRange{kMinCertificateValidity, kMaxCertificatePeriod};
constexpr DurationRange kPeriodRange{std::chrono::seconds(0), kMaxCertificatePeriod};

Result<std::chrono::seconds> parse_duration_in(std::string_view value, DurationRange range) {
    auto duration = parse_certificate_duration(value);
    if (!duration) {
        return duration;
    }
    if (*duration < range.min || *duration > range.max) {
        return fail(quoted(value) + " is out of range; expected " + describe_duration(range.min) + " to " +
                    describe_duration(range.max));
    }
    return duration;
}

Result<std::chrono::seconds> parse_key_duration(std::string_view key, std::string_view value) {
    const bool validity = key == kAgentValidityKey || key == kServerValidityKey;
    return parse_duration_in(value, validity ? kValidityRange : kPeriodRange);
}

bool is_duration_key(std::string_view key) {
    return key == kAgentValidityKey || key == kServerValidityKey || key == kExpiryAlertPeriodKey ||
           key == kExpiredGracePeriodKey;
}

Result<certs::KeyType> parse_key_type(std::string_view value) {
    if (auto type = certs::key_type_from_string(value)) {
        return *type;
    }
    return fail(quoted(value) + " is not a key type; expected p256, p384 or rsa3072");
}

}  // namespace

Result<std::chrono::seconds> parse_certificate_duration(std::string_view value) {
    const std::string expected =
        "; expected a whole number with a unit s, m, h or d (\"90s\", \"12h\", "
        "\"365d\"); a bare number means days";
    if (value.empty()) {
        return fail("the value is empty" + expected);
    }
    std::int64_t unit = kDaySeconds;
    std::string_view digits = value;
    if (!detail::is_digit(value.back())) {
        switch (value.back()) {
            case 's':
                unit = 1;
                break;
            case 'm':
                unit = 60;
                break;
            case 'h':
                unit = 3600;
                break;
            case 'd':
                break;
            default:
                return fail(quoted(value) + " is not a duration" + expected);
        }
        digits.remove_suffix(1);
    }
    if (!detail::all_digits(digits)) {
        return fail(quoted(value) + " is not a duration" + expected);
    }
    // Anything longer than ten digits is far beyond every range (3650 days is 315360000 s).
    if (digits.size() > 10) {
        return fail(quoted(value) + " is too large" + expected);
    }
    std::int64_t number = 0;
    for (char c : digits) {
        number = number * 10 + (c - '0');
    }
    return std::chrono::seconds(number * unit);
}

Result<int> parse_renewal_fraction(std::string_view value) {
    const std::string expected =
        "; expected a fraction from 0.10 to 0.95 (e.g. 0.67), at most three decimals";
    const auto point = value.find('.');
    const std::string_view whole = value.substr(0, point);
    const std::string_view decimals =
        point == std::string_view::npos ? std::string_view() : value.substr(point + 1);
    if (value.empty() || !detail::all_digits(whole) || whole.size() > 3 ||
        (point != std::string_view::npos && !detail::all_digits(decimals))) {
        return fail(quoted(value) + " is not a fraction" + expected);
    }
    if (decimals.size() > 3) {
        return fail(quoted(value) + " has more than three decimals" + expected);
    }
    int permille = 0;
    for (char c : whole) {
        permille = permille * 10 + (c - '0');
    }
    permille *= 1000;
    int scale = 100;
    for (char c : decimals) {
        permille += (c - '0') * scale;
        scale /= 10;
    }
    if (permille < kMinRenewalPermille || permille > kMaxRenewalPermille) {
        return fail(quoted(value) + " is out of range" + expected);
    }
    return permille;
}

Result<bool> parse_boolean(std::string_view value) {
    std::string lower;
    for (char c : value) {
        lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (lower == "true") {
        return true;
    }
    if (lower == "false") {
        return false;
    }
    return fail(quoted(value) + " is not a boolean; expected true or false");
}

bool is_certificate_key(std::string_view key) {
    return is_duration_key(key) || key == kKeyTypeKey || key == kRenewalFractionKey ||
           key == kAutomaticRenewalKey;
}

bool is_certificate_server_only_key(std::string_view key) {
    return key == kServerValidityKey || key == kExpiryAlertPeriodKey;
}

Status validate_certificate_value(std::string_view key, std::string_view value) {
    if (is_duration_key(key)) {
        auto duration = parse_key_duration(key, value);
        return duration ? success() : fail(duration.error());
    }
    if (key == kKeyTypeKey) {
        auto type = parse_key_type(value);
        return type ? success() : fail(type.error());
    }
    if (key == kRenewalFractionKey) {
        auto fraction = parse_renewal_fraction(value);
        return fraction ? success() : fail(fraction.error());
    }
    if (key == kAutomaticRenewalKey) {
        auto flag = parse_boolean(value);
        return flag ? success() : fail(flag.error());
    }
    return fail("not a certificate setting: " + quoted(key));
}

Result<CertificateSettings> certificate_settings_from_config(
    const std::map<std::string, std::string>& stored) {
    CertificateSettings settings;
    const auto find = [&stored](std::string_view key) -> const std::string* {
        const auto it = stored.find(std::string(key));
        return it == stored.end() ? nullptr : &it->second;
    };
    const auto corrupt = [](std::string_view key, const std::string& reason) {
        return fail(std::string(key) + " (stored value): " + reason);
    };
    for (auto [key, target] : {std::pair{kAgentValidityKey, &settings.agent_validity},
                               std::pair{kServerValidityKey, &settings.server_validity},
                               std::pair{kExpiryAlertPeriodKey, &settings.expiry_alert_period},
                               std::pair{kExpiredGracePeriodKey, &settings.expired_grace_period}}) {
        if (const std::string* value = find(key)) {
            auto duration = parse_key_duration(key, *value);
            if (!duration) {
                return corrupt(key, duration.error());
            }
            *target = *duration;
        }
    }
    if (const std::string* value = find(kKeyTypeKey)) {
        auto type = parse_key_type(*value);
        if (!type) {
            return corrupt(kKeyTypeKey, type.error());
        }
        settings.key_type = *type;
    }
    if (const std::string* value = find(kRenewalFractionKey)) {
        auto fraction = parse_renewal_fraction(*value);
        if (!fraction) {
            return corrupt(kRenewalFractionKey, fraction.error());
        }
        settings.renewal_permille = *fraction;
    }
    if (const std::string* value = find(kAutomaticRenewalKey)) {
        auto flag = parse_boolean(*value);
        if (!flag) {
            return corrupt(kAutomaticRenewalKey, flag.error());
        }
        settings.automatic_renewal = *flag;
    }
    return settings;
}

std::string describe_duration(std::chrono::seconds duration) {
    const std::int64_t seconds = duration.count();
    if (seconds == 0) {
        return "0s";
    }
    for (auto [size, unit] : {std::pair<std::int64_t, char>{kDaySeconds, 'd'}, {3600, 'h'}, {60, 'm'}}) {
        if (seconds % size == 0) {
            return std::to_string(seconds / size) + unit;
        }
    }
    return std::to_string(seconds) + "s";
}

}  // namespace agentlb::lb
