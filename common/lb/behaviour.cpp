#include "common/lb/behaviour.hpp"

#include "common/lb/text.hpp"

#include <array>
#include <string>

namespace agentlb::lb {
namespace {

struct Named {
    Behaviour behaviour;
    std::string_view name;
};

constexpr std::array<Named, 4> kBehaviours{{
    {Behaviour::off, "off"},
    {Behaviour::low, "low"},
    {Behaviour::normal, "normal"},
    {Behaviour::aggressive, "aggressive"},
}};

}  // namespace

Result<Behaviour> parse_behaviour(std::string_view value) {
    std::string allowed;
    for (const Named& named : kBehaviours) {
        if (value == named.name) {
            return named.behaviour;
        }
        allowed += allowed.empty() ? "" : ", ";
        allowed += named.name;
    }
    return fail("unknown behaviour " + detail::quoted(value) + "; expected one of: " + allowed);
}

std::string_view behaviour_name(Behaviour behaviour) {
    for (const Named& named : kBehaviours) {
        if (named.behaviour == behaviour) {
            return named.name;
        }
    }
    return "off";
}

std::optional<BehaviourSettings> behaviour_settings(Behaviour behaviour) {
    using std::chrono::seconds;
    switch (behaviour) {
        case Behaviour::off:
            return std::nullopt;
        case Behaviour::low:
            return BehaviourSettings{300, seconds(120), 5};
        case Behaviour::normal:
            return BehaviourSettings{150, seconds(60), 20};
        case Behaviour::aggressive:
            return BehaviourSettings{50, seconds(20), 100};
    }
    return std::nullopt;
}

}  // namespace agentlb::lb
