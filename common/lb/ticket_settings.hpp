#pragma once

// The TLS session ticket settings (issue 17), read by agentlb-mgmt only and
// global only: how long a ticket may be used, and how often the key shared
// by the servers is replaced. Durations as the CA's keys
// (parse_certificate_duration: a bare number means days). Pure.

#include "common/util/result.hpp"

#include <chrono>
#include <map>
#include <string>
#include <string_view>

namespace agentlb::lb {

inline constexpr std::string_view kTicketLifetimeKey = "agentlb.tls.ticket.lifetime";
inline constexpr std::string_view kTicketRotationKey = "agentlb.tls.ticket.key.rotation.period";

inline constexpr std::chrono::seconds kDefaultTicketLifetime = std::chrono::hours(1);
inline constexpr std::chrono::seconds kMaxTicketLifetime = std::chrono::hours(24 * 7);
inline constexpr std::chrono::seconds kDefaultTicketRotation = std::chrono::hours(12);
inline constexpr std::chrono::seconds kMinTicketRotation{10};
inline constexpr std::chrono::seconds kMaxTicketRotation = std::chrono::hours(24 * 30);

struct TicketSettings {
    std::chrono::seconds lifetime = kDefaultTicketLifetime;  // 0: no tickets are sent
    std::chrono::seconds rotation = kDefaultTicketRotation;
};

bool is_ticket_key(std::string_view key);

// One value alone (range); the message does not name the key.
Status validate_ticket_value(std::string_view key, std::string_view value);

// The value against the other key as stored (`stored`, its default when
// unset): the rotation period is never below the lifetime, or a ticket
// would outlive both keys that can read it. The message does not name the key.
Status validate_ticket_value_with(std::string_view key,
                                  std::string_view value,
                                  const std::map<std::string, std::string>& stored);

// Both keys from the global configuration (defaults when unset); a corrupt
// stored value is an error naming the key.
Result<TicketSettings> ticket_settings_from_config(const std::map<std::string, std::string>& stored);

}  // namespace agentlb::lb
