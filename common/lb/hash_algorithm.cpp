// `hash`: weighted rendezvous hashing (highest random weight). Every server
// gets a score per agent; the list is the servers by score, highest first.
// Removing a server moves only the agents that had it first, spread over the
// others by weight; adding one takes about its share, from every server
// alike, and moves no agent between two old servers.
//
// The list must be the same on every server, in every version and in
// `agentlbctl preview`, forever: agents on servers of different versions
// would otherwise be told to move back and forth. So the score uses only
// integer arithmetic, spelt out in docs/DESIGN.md ("The hash algorithm");
// the pinned lists in tests/common/lb/test_hash_algorithm.cpp must never
// change.

#include "common/lb/algorithm.hpp"

#include <algorithm>
#include <cstdint>

namespace agentlb::lb {
namespace {

constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr std::uint64_t kFnvPrime = 0x100000001b3ULL;
constexpr int kFractionBits = 48;

std::uint64_t fnv1a64(std::string_view bytes) {
    std::uint64_t hash = kFnvOffset;
    for (char c : bytes) {
        hash ^= static_cast<unsigned char>(c);
        hash *= kFnvPrime;
    }
    return hash;
}

std::uint64_t splitmix64(std::uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// floor(log2(m) * 2^48) for m >= 1, by the bit-by-bit squaring method on a
// Q2.62 mantissa, truncating at each step: exact integer work, so every
// machine gets the same bits.
std::uint64_t log2_fixed(std::uint64_t m) {
    int exponent = 63;
    while ((m >> exponent) == 0) {
        --exponent;
    }
    // m / 2^exponent in [1, 2), as x / 2^62.
    std::uint64_t x = exponent >= 62 ? m >> (exponent - 62) : m << (62 - exponent);
    std::uint64_t fraction = 0;
    for (int bit = 0; bit < kFractionBits; ++bit) {
        x = static_cast<std::uint64_t>((static_cast<unsigned __int128>(x) * x) >> 62);
        fraction <<= 1;
        if (x >= (std::uint64_t{1} << 63)) {
            x >>= 1;
            fraction |= 1;
        }
    }
    return (static_cast<std::uint64_t>(exponent) << kFractionBits) | fraction;
}

// -log2(u) * 2^48 for the agent's u in (0, 1) for this server. The score is
// weight / cost: a smaller cost ranks higher.
std::uint64_t cost(std::int64_t host_id, std::string_view address) {
    const std::uint64_t key = splitmix64(fnv1a64(address) ^ splitmix64(static_cast<std::uint64_t>(host_id)));
    // u = m / 2^54 with m odd in [1, 2^54 - 1]: never 0, never 1.
    const std::uint64_t m = ((key >> 11) << 1) | 1;
    const std::uint64_t cost = (std::uint64_t{54} << kFractionBits) - log2_fixed(m);
    return std::max<std::uint64_t>(cost, 1);
}

struct Candidate {
    const std::string* address;
    std::int64_t weight;
    std::uint64_t cost;
};

// Positive weights first, by weight / cost, compared as weight_a * cost_b >
// weight_b * cost_a (below 2^64: weight <= 1000, cost < 2^54); weight 0
// after them by cost alone; ties by address.
bool ranks_before(const Candidate& a, const Candidate& b) {
    if ((a.weight == 0) != (b.weight == 0)) {
        return a.weight != 0;
    }
    const std::uint64_t left = a.weight == 0 ? b.cost : static_cast<std::uint64_t>(a.weight) * b.cost;
    const std::uint64_t right = a.weight == 0 ? a.cost : static_cast<std::uint64_t>(b.weight) * a.cost;
    if (left != right) {
        return left > right;
    }
    return *a.address < *b.address;
}

class HashAlgorithm final : public Algorithm {
public:
    std::string_view name() const override { return "hash"; }

    bool uses_weights() const override { return true; }

    std::vector<std::string> compute(const PlacementInput& input) const override {
        std::vector<Candidate> candidates;
        candidates.reserve(input.ms_list.size());
        for (const std::string& address : input.ms_list) {
            candidates.push_back({&address, weight_of(input.weights, address), cost(input.host_id, address)});
        }
        std::sort(candidates.begin(), candidates.end(), ranks_before);
        std::vector<std::string> result;
        result.reserve(candidates.size());
        for (const Candidate& candidate : candidates) {
            result.push_back(*candidate.address);
        }
        return result;
    }

    bool agree(const std::vector<std::string>& a, const std::vector<std::string>& b) const override {
        return !a.empty() && !b.empty() && a == b;
    }
};

}  // namespace

const Algorithm& hash_algorithm() {
    static const HashAlgorithm instance;
    return instance;
}

}  // namespace agentlb::lb
