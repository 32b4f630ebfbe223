#include "common/lb/algorithm.hpp"

#include "common/lb/text.hpp"

namespace agentlb::lb {

Algorithm::~Algorithm() = default;

// Each algorithm's file defines its accessor. A new algorithm is one new file,
// its declaration here and one line in kRegistry.
const Algorithm& static_algorithm();
const Algorithm& roundrobin_algorithm();
const Algorithm& shuffle_algorithm();
const Algorithm& hash_algorithm();

namespace {

using Accessor = const Algorithm& (*)();

// The order is the one shown to operators.
constexpr Accessor kRegistry[] = {
    static_algorithm,
    roundrobin_algorithm,
    shuffle_algorithm,
    hash_algorithm,
};

}  // namespace

Result<const Algorithm*> find_algorithm(std::string_view name) {
    for (Accessor accessor : kRegistry) {
        const Algorithm& algorithm = accessor();
        if (algorithm.name() == name) {
            return &algorithm;
        }
    }
    std::string allowed;
    for (std::string_view known : algorithm_names()) {
        allowed += allowed.empty() ? "" : ", ";
        allowed += known;
    }
    return fail("unknown algorithm " + detail::quoted(name) + "; expected one of: " + allowed);
}

std::vector<std::string_view> algorithm_names() {
    std::vector<std::string_view> names;
    for (Accessor accessor : kRegistry) {
        names.push_back(accessor().name());
    }
    return names;
}

}  // namespace agentlb::lb
