#pragma once

// What the messages scenario puts in its payloads and how each end checks
// what it is handed. Every command carries its host's counter (1, 2, 3, ...
// in the order the application sent them to that host) and every answer
// repeats its command's counter, so that each end can tell, per stream, a
// message handed on twice or after a later one, and the application can
// tell an answer to the wrong command.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::bench {

inline constexpr std::string_view kCommandType = "bench/command";
inline constexpr std::string_view kAnswerType = "bench/answer";

// The smallest payload the scenario sends: room for a prefix and 20 digits.
inline constexpr std::size_t kMinMessagePayload = 32;

enum class PayloadKind { command, answer };

// "cmd 17 " or "ans 17 ", padded with '.' to `size` bytes (at least the text).
std::string make_payload(PayloadKind kind, std::uint64_t counter, std::size_t size);
// The counter of a payload of that kind; nothing when it is not one.
std::optional<std::uint64_t> payload_counter(PayloadKind kind, std::string_view payload);

// The counters one stream hands on, as they come. Each counter once, in
// increasing order, is what the streams promise: anything else is counted.
class CounterCheck {
public:
    enum class Verdict {
        in_order,   // new, and after every counter seen so far
        duplicate,  // seen before
        reordered,  // new, but a later counter came first
        invalid,    // 0, or too far ahead to be one the sender made
    };

    Verdict on_counter(std::uint64_t counter);

    // Counters seen at least once.
    std::size_t distinct() const { return distinct_; }
    std::size_t duplicated() const { return duplicated_; }
    std::size_t reordered() const { return reordered_; }
    std::size_t invalid() const { return invalid_; }

private:
    std::vector<bool> seen_;  // by counter
    std::uint64_t highest_ = 0;
    std::size_t distinct_ = 0;
    std::size_t duplicated_ = 0;
    std::size_t reordered_ = 0;
    std::size_t invalid_ = 0;
};

}  // namespace agentlb::bench
