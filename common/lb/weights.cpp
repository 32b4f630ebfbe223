#include "common/lb/weights.hpp"

#include "common/lb/endpoint.hpp"
#include "common/lb/text.hpp"

#include <algorithm>

namespace agentlb::lb {
namespace {

using detail::quoted;

std::string entry_label(int entry) {
    return "entry " + std::to_string(entry);
}

}  // namespace

Result<Weights> parse_weights_syntax(std::string_view value) {
    Weights weights;
    if (detail::trim(value).empty()) {
        return weights;
    }
    std::size_t position = 0;
    int entry = 0;
    while (true) {
        ++entry;
        const std::size_t comma = value.find(',', position);
        const std::string_view item = detail::trim(value.substr(
            position, comma == std::string_view::npos ? std::string_view::npos : comma - position));
        if (item.empty()) {
            return fail(entry_label(entry) + " is empty; expected ADDRESS=WEIGHT,ADDRESS=WEIGHT");
        }
        const std::size_t equals = item.rfind('=');
        if (equals == std::string_view::npos) {
            return fail(entry_label(entry) + " " + quoted(item) + " has no '='; expected ADDRESS=WEIGHT");
        }
        const std::string_view address = detail::trim(item.substr(0, equals));
        const std::string_view number = detail::trim(item.substr(equals + 1));
        if (address.empty()) {
            return fail(entry_label(entry) + " " + quoted(item) + " has no address; expected ADDRESS=WEIGHT");
        }
        if (!detail::all_digits(number) || number.size() > 4) {
            return fail(entry_label(entry) + " " + quoted(item) +
                        ": the weight is not a whole number from 0 to " + std::to_string(kMaxWeight));
        }
        const std::int64_t weight = std::stoll(std::string(number));
        if (weight > kMaxWeight) {
            return fail(entry_label(entry) + " " + quoted(item) + ": the weight is too large; at most " +
                        std::to_string(kMaxWeight));
        }
        if (!weights.emplace(std::string(address), weight).second) {
            return fail(quoted(address) + " is given twice");
        }
        if (comma == std::string_view::npos) {
            break;
        }
        position = comma + 1;
    }
    return weights;
}

Result<Weights> parse_weights(std::string_view value, const std::vector<std::string>& hosts) {
    auto weights = parse_weights_syntax(value);
    if (!weights) {
        return weights;
    }
    for (const auto& [address, weight] : *weights) {
        if (std::find(hosts.begin(), hosts.end(), address) != hosts.end()) {
            continue;
        }
        // Same server spelt differently ("ms1:8250" for "ms1"): say how
        // `host` writes it, since weights are keyed by that text.
        auto same = std::find_if(hosts.begin(), hosts.end(), [&address = address](const std::string& host) {
            return same_endpoint(host, address);
        });
        if (same != hosts.end()) {
            return fail(quoted(address) + " is written " + quoted(*same) +
                        " in `host`; write it the same way here");
        }
        return fail(quoted(address) + " is not in `host`; weights name its entries as written there");
    }
    return weights;
}

std::string format_weights(const Weights& weights) {
    std::string out;
    for (const auto& [address, weight] : weights) {
        out += out.empty() ? "" : ",";
        out += address + "=" + std::to_string(weight);
    }
    return out;
}

std::int64_t weight_of(const Weights& weights, std::string_view address) {
    const auto it = weights.find(address);
    return it == weights.end() ? kDefaultWeight : it->second;
}

}  // namespace agentlb::lb
