#pragma once

// Private to the store: when ensure_ticket_keys makes a new ticket key, the
// same rule for both backends.

#include "common/store/store.hpp"

#include <cstdint>
#include <vector>

namespace agentlb::store {

// `keys` newest first. Due when there is none, when the newest was created
// rotation_seconds or more before now, or when the caller cannot use it.
bool ticket_key_due(const std::vector<TicketKeyRecord>& keys,
                    std::int64_t now,
                    std::int64_t rotation_seconds,
                    const TicketKeyMaker& maker);

// The key the caller made, checked before it is written (a bug, not an
// operator's mistake, so std::invalid_argument), dated `now`, or one second
// after the newest of `keys` (newest first) when that is not earlier: the
// new key must sort first even when it replaces, within the same second, a
// key the caller cannot use.
TicketKeyRecord checked_new_ticket_key(const TicketKeyMaker& maker,
                                       std::int64_t now,
                                       const std::vector<TicketKeyRecord>& keys);

}  // namespace agentlb::store
