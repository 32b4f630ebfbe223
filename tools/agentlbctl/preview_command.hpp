#pragma once

// `preview`: the lists the servers would send, for the stored configuration
// or a proposed one, changing nothing.

#include "common/lb/scoped_config.hpp"
#include "tools/agentlbctl/command.hpp"
#include "tools/agentlbctl/preview.hpp"

#include <optional>
#include <string>
#include <vector>

namespace agentlb::ctl {

std::vector<Command> preview_commands();

// One configuration previewed: what it is and the lists it gives.
struct ShownConfig {
    std::vector<std::string> ms_list;
    const lb::Algorithm* algorithm = nullptr;
    lb::Weights weights;
    Preview preview;

    // Of the first places (ctl::imbalance), by weight when the algorithm uses weights.
    double imbalance() const;
};

struct PreviewReport {
    ShownConfig shown;
    bool registered = false;    // hosts from the store, not --host-ids
    bool summary_only = false;  // --summary: no per-host lists
    // The stored configuration over the same hosts, when a proposal is shown.
    std::optional<ShownConfig> current;
    std::optional<DownPreview> down;
    // Zones and clusters that set their own host, algorithm or weights: the
    // preview applies the global values to every host, so it says so.
    std::vector<lb::ConfigScope> places_not_applied;
};

// The lists (unless summary_only), the counts, the imbalance, then the
// current configuration's counts and the --down lines when present.
std::string render_report(const PreviewReport& report);

// Text for people. `registered`: the hosts came from the store (shown with
// names, grouped per zone); otherwise one "ID: a,b,c" line per id.
std::string render_preview(const Preview& preview, bool registered, std::string_view algorithm_name);

}  // namespace agentlb::ctl
