#include "common/protocol/delivery_stream.hpp"

#include <utility>

namespace agentlb::protocol {

StreamSender::StreamSender(std::uint64_t epoch, StreamSenderSettings settings)
    : epoch_(epoch), settings_(settings) {}

std::optional<std::uint64_t> StreamSender::offer(std::string body, TimePoint now) {
    if (full()) {
        return std::nullopt;
    }
    const std::uint64_t sequence = next_sequence_++;
    held_.push_back(Held{sequence, now, std::move(body), std::nullopt, false});
    return sequence;
}

std::uint64_t StreamSender::floor() const {
    return held_.empty() ? next_sequence_ : held_.front().sequence;
}

std::vector<StreamMessage> StreamSender::take_unsent(TimePoint now) {
    if (const auto due = next_resend(); due && now >= *due) {
        on_link_reset();
    }
    std::vector<StreamMessage> out;
    const std::uint64_t held_floor = floor();
    for (auto& held : held_) {
        if (!held.sent) {
            held.sent = now;
            held.ever_sent = true;
            out.push_back(StreamMessage{epoch_, held.sequence, held_floor, held.body});
        }
    }
    return out;
}

std::size_t StreamSender::on_ack(std::uint64_t sequence) {
    // Only what went out can be acknowledged: a larger number is a confused
    // or forged peer, and releasing unsent messages on its word would lose them.
    std::size_t released = 0;
    while (!held_.empty() && held_.front().sequence <= sequence && held_.front().ever_sent) {
        held_.pop_front();
        ++released;
    }
    return released;
}

void StreamSender::on_link_reset() {
    for (auto& held : held_) {
        held.sent.reset();
    }
}

std::vector<ExpiredMessage> StreamSender::expire(TimePoint now) {
    std::vector<ExpiredMessage> out;
    // Offers are in time order, so what expired is always the oldest part.
    while (!held_.empty() && now - held_.front().offered >= settings_.ttl) {
        out.push_back(ExpiredMessage{held_.front().sequence, std::move(held_.front().body)});
        held_.pop_front();
    }
    return out;
}

std::optional<TimePoint> StreamSender::next_expiry() const {
    if (held_.empty()) {
        return std::nullopt;
    }
    return held_.front().offered + settings_.ttl;
}

std::optional<TimePoint> StreamSender::next_resend() const {
    // The oldest held message was sent first: it is the one that waited longest.
    if (held_.empty() || !held_.front().sent) {
        return std::nullopt;
    }
    return *held_.front().sent + settings_.resend_after;
}

StreamReceiver::StreamReceiver(StreamReceiverSettings settings) : settings_(settings) {}

void StreamReceiver::skip_to(std::uint64_t floor) {
    if (floor <= expected_) {
        return;
    }
    expected_ = floor;
    early_.erase(early_.begin(), early_.lower_bound(floor));
}

void StreamReceiver::drain_early(std::vector<std::string>& deliver) {
    for (auto it = early_.find(expected_); it != early_.end(); it = early_.find(expected_)) {
        deliver.push_back(std::move(it->second));
        early_.erase(it);
        ++expected_;
    }
}

StreamReceiver::Outcome StreamReceiver::on_message(StreamMessage message) {
    Outcome outcome;
    if (message.epoch < epoch_) {
        // A sender that has since restarted: what it held died with it.
        return outcome;
    }
    if (message.epoch > epoch_) {
        epoch_ = message.epoch;
        expected_ = 1;
        early_.clear();
    }
    outcome.ack_epoch = epoch_;
    skip_to(message.floor);
    if (message.sequence < expected_) {
        outcome.duplicate = true;
    } else if (message.sequence == expected_) {
        outcome.deliver.push_back(std::move(message.body));
        ++expected_;
    } else if (message.sequence - expected_ <= settings_.window) {
        early_.emplace(message.sequence, std::move(message.body));
    }
    drain_early(outcome.deliver);
    outcome.ack = expected_ - 1;
    return outcome;
}

}  // namespace agentlb::protocol
