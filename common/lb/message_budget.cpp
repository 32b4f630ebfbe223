#include "common/lb/message_budget.hpp"

#include "common/lb/algorithm.hpp"
#include "common/lb/config_keys.hpp"
#include "common/lb/host_list.hpp"
#include "common/wire/frame.hpp"
#include "common/wire/messages.hpp"

#include <cstdint>
#include <limits>

namespace agentlb::lb {
namespace {

constexpr std::int64_t kLargestInteger = std::numeric_limits<std::int64_t>::max();

std::string longest_algorithm_name() {
    std::string_view longest;
    for (auto name : algorithm_names()) {
        if (name.size() > longest.size()) {
            longest = name;
        }
    }
    return std::string(longest);
}

}  // namespace

LargestMessage largest_list_message(const std::vector<std::string>& hosts) {
    const std::string algorithm = longest_algorithm_name();
    const std::string name(kNameAllowance, 'n');
    const std::string zone(kZoneAllowance, 'z');
    const std::string pem(kPemAllowance, 'p');
    const std::string chain(kChainAllowance, 'c');

    // Every entry may be avoided at once (all servers down).
    const wire::MsList list{kLargestInteger, hosts, algorithm, kMaxCheckInterval, hosts};
    const wire::Welcome welcome{kLargestInteger, name, kLargestInteger, list};
    const wire::EnrollResponse enrolled{
        kLargestInteger, name, zone, pem, pem, hosts, algorithm, kMaxCheckInterval, chain};
    const wire::Hello hello{name,
                            zone,
                            format_agent_host_value(AgentHostValue{hosts, algorithm}),
                            kMaxCheckInterval,
                            std::string(kVersionAllowance, 'v')};

    LargestMessage largest;
    for (const wire::Message& message :
         {wire::Message(welcome), wire::Message(list), wire::Message(enrolled), wire::Message(hello)}) {
        const std::size_t bytes = wire::encode_message(message).size();
        if (bytes > largest.bytes) {
            largest = {wire::message_type(message), bytes};
        }
    }
    return largest;
}

Status check_list_fits_frames(std::string_view value, const std::vector<std::string>& hosts) {
    const LargestMessage largest = largest_list_message(hosts);
    if (largest.bytes <= wire::kMaxPayload) {
        return success();
    }
    return fail("the list is " + std::to_string(value.size()) + " bytes; the largest message it causes ('" +
                std::string(largest.type) + "') would be " + std::to_string(largest.bytes) +
                " bytes, over the " + std::to_string(wire::kMaxPayload) +
                "-byte frame limit; use fewer or shorter entries");
}

}  // namespace agentlb::lb
