#pragma once

// GET / on the admin port: one self-contained HTML page (inline CSS and
// JavaScript, an SVG chart, nothing fetched from elsewhere) that shows the
// servers, agents per server over the last hour, the recent events and the
// configuration, refreshing itself from /v1/status, /v1/history, /v1/events
// and /v1/config every kStatusPageRefreshSeconds.

#include <string_view>

namespace agentlb::mgmt {

inline constexpr int kStatusPageRefreshSeconds = 5;

// The colour of the first server's line in the chart (the lowest name):
// the page's test looks for it in a screenshot, so nothing else is drawn in it.
inline constexpr std::string_view kStatusChartFirstColour = "#e6007e";

std::string_view status_page_html();

}  // namespace agentlb::mgmt
