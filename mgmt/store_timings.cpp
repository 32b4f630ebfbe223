#include "mgmt/store_timings.hpp"

#include <fmt/format.h>

namespace agentlb::mgmt {

void StoreTimings::observe(std::string_view operation, double seconds, bool failed) {
    Operation* entry = nullptr;
    {
        std::lock_guard lock(mutex_);
        auto it = operations_.find(operation);
        if (it == operations_.end()) {
            it = operations_.emplace(std::string(operation), std::make_unique<Operation>()).first;
        }
        entry = it->second.get();
    }
    if (failed) {
        entry->errors.fetch_add(1);
    }
    entry->duration.observe(seconds);
}

const StoreTimings::Operation* StoreTimings::find(std::string_view operation) const {
    std::lock_guard lock(mutex_);
    const auto it = operations_.find(operation);
    return it == operations_.end() ? nullptr : it->second.get();
}

std::uint64_t StoreTimings::calls(std::string_view operation) const {
    const auto* entry = find(operation);
    return entry == nullptr ? 0 : entry->duration.count();
}

std::uint64_t StoreTimings::errors(std::string_view operation) const {
    const auto* entry = find(operation);
    return entry == nullptr ? 0 : entry->errors.load();
}

std::string StoreTimings::render() const {
    std::lock_guard lock(mutex_);
    if (operations_.empty()) {
        return {};
    }
    std::string out;
    out +=
        "# HELP agentlb_store_operation_duration_seconds Calls of the store by operation (the Store method; "
        "reading_together is the read transaction around the reads it names), failed ones included.\n";
    out += "# TYPE agentlb_store_operation_duration_seconds histogram\n";
    for (const auto& [operation, entry] : operations_) {
        entry->duration.render(out,
                               "agentlb_store_operation_duration_seconds",
                               fmt::format("operation=\"{}\"", escape_label_value(operation)));
    }
    out += "# HELP agentlb_store_errors_total Calls of the store that failed (the database), by operation.\n";
    out += "# TYPE agentlb_store_errors_total counter\n";
    for (const auto& [operation, entry] : operations_) {
        out += fmt::format("agentlb_store_errors_total{{operation=\"{}\"}} {}\n",
                           escape_label_value(operation),
                           entry->errors.load());
    }
    return out;
}

}  // namespace agentlb::mgmt
