#pragma once

// Text a peer sent (host names, zones, reasons) goes into log lines only
// through this: printable ASCII is kept, anything else becomes \xNN, and
// long values are cut, so a peer cannot forge or flood log lines.

#include <string>
#include <string_view>

namespace agentlb::mgmt {

inline constexpr std::size_t kMaxLoggedPeerText = 128;

std::string escape_for_log(std::string_view text, std::size_t max_length = kMaxLoggedPeerText);

}  // namespace agentlb::mgmt
