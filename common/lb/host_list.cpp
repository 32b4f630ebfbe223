#include "common/lb/host_list.hpp"

#include "common/lb/algorithm.hpp"
#include "common/lb/endpoint.hpp"
#include "common/lb/text.hpp"
#include "common/util/text.hpp"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <map>

namespace agentlb::lb {
namespace {

using detail::quoted;
using detail::trim;

}  // namespace

Result<std::vector<std::string>> parse_host_list(std::string_view value) {
    if (trim(value).empty()) {
        return fail("the host list is empty; expected comma-separated name-or-ip[:port] entries");
    }
    std::vector<std::string> entries;
    std::map<std::string, std::size_t> seen;  // identity -> index in entries
    std::size_t start = 0;
    while (true) {
        std::size_t comma = value.find(',', start);
        std::string_view entry =
            trim(value.substr(start, comma == std::string_view::npos ? comma : comma - start));
        std::string position = std::to_string(entries.size() + 1);
        if (entry.empty()) {
            return fail("entry " + position +
                        " is empty (two commas in a row, or a comma at the start or end)");
        }
        auto endpoint = parse_endpoint(entry);
        if (!endpoint) {
            return fail("entry " + position + " " + endpoint.error());
        }
        auto [it, inserted] = seen.emplace(identity_key(*endpoint), entries.size());
        if (!inserted) {
            return fail("entries " + std::to_string(it->second + 1) + " " + quoted(entries[it->second]) +
                        " and " + position + " " + quoted(entry) + " are the same server (" + it->first +
                        ")");
        }
        entries.emplace_back(entry);
        if (comma == std::string_view::npos) {
            return entries;
        }
        start = comma + 1;
    }
}

std::string join_host_list(const std::vector<std::string>& entries) {
    std::string out;
    for (const auto& entry : entries) {
        if (!out.empty()) {
            out += ',';
        }
        out += entry;
    }
    return out;
}

bool is_algorithm_name(std::string_view name) {
    return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](unsigned char c) {
        return std::isalnum(c) != 0 || c == '_' || c == '-';
    });
}

Result<AgentHostValue> parse_agent_host_value(std::string_view value) {
    const std::size_t at = value.rfind('@');
    const bool has_algorithm = at != std::string_view::npos;
    std::string_view hosts = value.substr(0, at);
    std::string_view algorithm = has_algorithm ? trim(value.substr(at + 1)) : std::string_view();
    if (has_algorithm && trim(hosts).empty() && algorithm.empty()) {
        return fail(quoted(value) + " has no hosts and no algorithm; expected \"host1,host2@algorithm\"");
    }
    if (has_algorithm && algorithm.empty()) {
        return fail(quoted(value) + " has no algorithm after '@'; expected \"host1,host2@algorithm\"");
    }
    if (trim(hosts).empty()) {
        return fail(quoted(value) + " has no hosts; expected \"host1,host2@algorithm\"");
    }
    if (has_algorithm && !is_algorithm_name(algorithm)) {
        return fail("algorithm " + util::peer_text(algorithm, util::kShownTextBytes, util::Quoted::yes) +
                    " is not a name (letters, digits, '_', '-'; at most 64)");
    }
    auto list = parse_host_list(hosts);
    if (!list) {
        return fail(list.error());
    }
    return AgentHostValue{std::move(*list), std::string(algorithm)};
}

std::string format_agent_host_value(const AgentHostValue& value) {
    if (value.algorithm.empty()) {
        return join_host_list(value.hosts);
    }
    return join_host_list(value.hosts) + "@" + value.algorithm;
}

}  // namespace agentlb::lb
