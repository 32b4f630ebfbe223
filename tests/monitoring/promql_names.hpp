#pragma once

// The metric names a PromQL expression reads, for checking the dashboard and
// the alert rules against tools/monitoring/metric-names.txt. Whether the
// expression is valid PromQL is promtool's job (test_monitoring.cpp runs it);
// this only has to find the names in expressions promtool accepts.

#include <map>
#include <set>
#include <string>

namespace agentlb::test {

// Identifiers that are neither function or aggregation names (followed by
// "("), keywords, label names (inside {}, by/without/on/ignoring/group_*
// lists), strings nor durations.
std::set<std::string> metric_names_in(const std::string& expr);

// metric-names.txt: "NAME TYPE" lines, # comments. Throws on a bad line.
std::map<std::string, std::string> read_metric_names(const std::string& path);

// Whether `name` is a listed family, or a histogram's _bucket/_sum/_count.
bool is_known_metric(const std::map<std::string, std::string>& known, const std::string& name);

}  // namespace agentlb::test
