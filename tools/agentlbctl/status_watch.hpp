#pragma once

// `status --watch`: draw, then draw again every period until the operator
// stops it with SIGINT (Ctrl-C) or SIGTERM, which ends the watch normally.

#include <chrono>
#include <functional>

namespace agentlb::ctl {

// Calls `draw` at once and then once per `period` (on a fixed schedule, so
// slow draws do not make it drift), until SIGINT or SIGTERM arrives; returns
// the signal that stopped it. The two signals are blocked for the duration
// and taken with sigtimedwait, so neither kills the process mid-draw; the
// signal mask is restored before returning. Single-threaded callers only.
int watch_until_stopped(std::chrono::milliseconds period, const std::function<void()>& draw);

}  // namespace agentlb::ctl
