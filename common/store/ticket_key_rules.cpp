#include "common/store/ticket_key_rules.hpp"

#include <algorithm>
#include <stdexcept>

namespace agentlb::store {

namespace {

constexpr std::size_t kNameBytes = 16;

}  // namespace

bool ticket_key_due(const std::vector<TicketKeyRecord>& keys,
                    std::int64_t now,
                    std::int64_t rotation_seconds,
                    const TicketKeyMaker& maker) {
    if (keys.empty()) {
        return true;
    }
    const TicketKeyRecord& newest = keys.front();
    if (now - newest.created_at >= rotation_seconds) {
        return true;
    }
    return maker.usable && !maker.usable(newest);
}

TicketKeyRecord checked_new_ticket_key(const TicketKeyMaker& maker,
                                       std::int64_t now,
                                       const std::vector<TicketKeyRecord>& keys) {
    TicketKeyRecord key = maker.make();
    if (key.name.size() != kNameBytes || key.wrapped.empty()) {
        throw std::invalid_argument("a ticket key needs a 16-byte name and its wrapped material");
    }
    key.created_at = keys.empty() ? now : std::max(now, keys.front().created_at + 1);
    return key;
}

}  // namespace agentlb::store
