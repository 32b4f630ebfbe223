#include "common/lb/ticket_settings.hpp"

#include "common/lb/certificate_settings.hpp"
#include "common/lb/text.hpp"

namespace agentlb::lb {

namespace {

using detail::quoted;

Result<std::chrono::seconds> parse_in_range(std::string_view value,
                                            std::chrono::seconds min,
                                            std::chrono::seconds max) {
    auto duration = parse_certificate_duration(value);
    if (!duration) {
        return duration;
    }
    if (*duration < min || *duration > max) {
        return fail(quoted(value) + " is out of range; expected " + describe_duration(min) + " to " +
                    describe_duration(max));
    }
    return duration;
}

Result<std::chrono::seconds> parse_ticket_value(std::string_view key, std::string_view value) {
    if (key == kTicketLifetimeKey) {
        return parse_in_range(value, std::chrono::seconds(0), kMaxTicketLifetime);
    }
    return parse_in_range(value, kMinTicketRotation, kMaxTicketRotation);
}

// The stored value of `key`, or its default; a corrupt one names the key.
Result<std::chrono::seconds> stored_value(const std::map<std::string, std::string>& stored,
                                          std::string_view key) {
    const auto it = stored.find(std::string(key));
    if (it == stored.end()) {
        return key == kTicketLifetimeKey ? kDefaultTicketLifetime : kDefaultTicketRotation;
    }
    auto value = parse_ticket_value(key, it->second);
    if (!value) {
        return fail(std::string(key) + " (stored value): " + value.error());
    }
    return value;
}

}  // namespace

bool is_ticket_key(std::string_view key) {
    return key == kTicketLifetimeKey || key == kTicketRotationKey;
}

Status validate_ticket_value(std::string_view key, std::string_view value) {
    auto parsed = parse_ticket_value(key, value);
    return parsed ? success() : fail(parsed.error());
}

Status validate_ticket_value_with(std::string_view key,
                                  std::string_view value,
                                  const std::map<std::string, std::string>& stored) {
    auto parsed = parse_ticket_value(key, value);
    if (!parsed) {
        return success();  // validate_ticket_value refuses it
    }
    const bool lifetime = key == kTicketLifetimeKey;
    const std::string_view other_key = lifetime ? kTicketRotationKey : kTicketLifetimeKey;
    auto other = stored_value(stored, other_key);
    if (!other) {
        return success();  // a corrupt stored value is not this value's fault
    }
    const std::chrono::seconds ticket_lifetime = lifetime ? *parsed : *other;
    const std::chrono::seconds rotation = lifetime ? *other : *parsed;
    if (rotation < ticket_lifetime) {
        return fail("the key rotation period (" + std::string(kTicketRotationKey) + " " +
                    describe_duration(rotation) + ") must not be shorter than the ticket lifetime (" +
                    std::string(kTicketLifetimeKey) + " " + describe_duration(ticket_lifetime) +
                    "): a ticket would outlive both keys that can read it; change " +
                    (lifetime ? std::string(kTicketRotationKey) : std::string(kTicketLifetimeKey)) +
                    " first");
    }
    return success();
}

Result<TicketSettings> ticket_settings_from_config(const std::map<std::string, std::string>& stored) {
    auto lifetime = stored_value(stored, kTicketLifetimeKey);
    if (!lifetime) {
        return fail(lifetime.error());
    }
    auto rotation = stored_value(stored, kTicketRotationKey);
    if (!rotation) {
        return fail(rotation.error());
    }
    return TicketSettings{*lifetime, *rotation};
}

}  // namespace agentlb::lb
