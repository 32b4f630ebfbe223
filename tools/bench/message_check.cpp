#include "tools/bench/message_check.hpp"

#include <charconv>

namespace agentlb::bench {

namespace {

// A counter this far past the highest one seen is not one the application
// made in a run: refused before it could size the table.
constexpr std::uint64_t kMaxCounterJump = 1'000'000;

std::string_view prefix_of(PayloadKind kind) {
    return kind == PayloadKind::command ? "cmd " : "ans ";
}

}  // namespace

std::string make_payload(PayloadKind kind, std::uint64_t counter, std::size_t size) {
    std::string text(prefix_of(kind));
    text += std::to_string(counter);
    text += ' ';
    if (text.size() < size) {
        text.append(size - text.size(), '.');
    }
    return text;
}

std::optional<std::uint64_t> payload_counter(PayloadKind kind, std::string_view payload) {
    const auto prefix = prefix_of(kind);
    if (payload.substr(0, prefix.size()) != prefix) {
        return std::nullopt;
    }
    const char* begin = payload.data() + prefix.size();
    const char* end = payload.data() + payload.size();
    std::uint64_t counter = 0;
    const auto [next, error] = std::from_chars(begin, end, counter);
    if (error != std::errc() || next == begin || next == end || *next != ' ') {
        return std::nullopt;
    }
    return counter;
}

CounterCheck::Verdict CounterCheck::on_counter(std::uint64_t counter) {
    if (counter == 0 || counter > highest_ + kMaxCounterJump) {
        ++invalid_;
        return Verdict::invalid;
    }
    if (counter < seen_.size() && seen_[counter]) {
        ++duplicated_;
        return Verdict::duplicate;
    }
    if (counter >= seen_.size()) {
        seen_.resize(counter + 1 + seen_.size() / 2, false);
    }
    seen_[counter] = true;
    ++distinct_;
    if (counter < highest_) {
        ++reordered_;
        return Verdict::reordered;
    }
    highest_ = counter;
    return Verdict::in_order;
}

}  // namespace agentlb::bench
