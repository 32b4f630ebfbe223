#pragma once

// Acknowledged, ordered delivery of the platform's own messages (issue 19):
// one direction of one host's stream, as two sans-I/O halves. The sender
// numbers what it is given and holds it until the far end acknowledges it;
// the receiver hands each message on once, in order, whatever the links in
// between did (a failover, a killed server, a drain: the sender sends again
// what was not acknowledged, the receiver drops what it already has).
//
// - A stream is (epoch, sequence): the sender takes a new, larger epoch each
//   time it starts (its held messages died with it); sequences count from 1.
//   A receiver follows a larger epoch and ignores a smaller one.
// - Acknowledgements are cumulative: "every message up to N has been handed
//   on". Only the receiver's side makes them, after handing a message on.
// - The sender holds at most `capacity` messages: offer() refuses more, and
//   the driver stops reading its local socket until an acknowledgement frees
//   room (back-pressure instead of growth).
// - A message not acknowledged within `ttl` of its offer is expired: it comes
//   back to the driver, to be answered to its author with a reason ("not
//   acknowledged in time": it was not handed on, or its acknowledgement was
//   lost). Every message carries the sender's floor (its oldest held
//   sequence): once one with a floor past an expired message arrives, the
//   receiver never hands that one on, and does not wait for it.
// - The receiver keeps a bounded window of messages that came early (beyond
//   the next expected one) and drops the rest. A message can be lost between
//   two live links (it was on a server that died while the next one went
//   through another): when the oldest held message has waited `resend_after`
//   since it was sent, the sender sends everything held again (go-back-N).
//
// No clock and no socket: times come in as values, and the drivers
// (agentlb-agent, the client library, the bench) do the I/O.

#include "common/protocol/time_point.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::protocol {

// One message as it crosses a link.
struct StreamMessage {
    std::uint64_t epoch = 0;
    std::uint64_t sequence = 0;
    // The sender's oldest held sequence when this was sent: everything below
    // it was acknowledged or expired.
    std::uint64_t floor = 0;
    std::string body;
    bool operator==(const StreamMessage&) const = default;
};

struct StreamSenderSettings {
    std::size_t capacity = 1024;
    std::chrono::milliseconds ttl{60'000};
    std::chrono::milliseconds resend_after{1'000};
};

// A message given up on: not acknowledged within the time to live.
struct ExpiredMessage {
    std::uint64_t sequence = 0;
    std::string body;
};

class StreamSender {
public:
    StreamSender(std::uint64_t epoch, StreamSenderSettings settings);

    // Queues `body` and returns its sequence; nullopt when `capacity`
    // messages are held already.
    std::optional<std::uint64_t> offer(std::string body, TimePoint now);

    // What to write on the current link now, oldest first: each held message
    // once per link, and again once resend_after has passed unacknowledged.
    std::vector<StreamMessage> take_unsent(TimePoint now);

    // The receiver has handed on every message up to `sequence`. Returns how
    // many held messages that released; an acknowledgement of something never
    // sent is ignored (0).
    std::size_t on_ack(std::uint64_t sequence);

    // The link is gone: every held message goes again on the next one.
    void on_link_reset();

    // Gives up on the held messages offered more than `ttl` before `now`.
    std::vector<ExpiredMessage> expire(TimePoint now);

    // When the oldest held message expires; nullopt when nothing is held.
    std::optional<TimePoint> next_expiry() const;

    // When take_unsent() next has something to send again; nullopt when
    // nothing sent is waiting for its acknowledgement.
    std::optional<TimePoint> next_resend() const;

    std::uint64_t epoch() const { return epoch_; }
    std::size_t held() const { return held_.size(); }
    bool full() const { return held_.size() >= settings_.capacity; }

private:
    struct Held {
        std::uint64_t sequence;
        TimePoint offered;
        std::string body;
        std::optional<TimePoint> sent;  // on the current link, when
        bool ever_sent;
    };

    std::uint64_t floor() const;

    std::uint64_t epoch_;
    StreamSenderSettings settings_;
    std::uint64_t next_sequence_ = 1;
    std::deque<Held> held_;
};

struct StreamReceiverSettings {
    // How far beyond the next expected sequence an early message is kept.
    std::size_t window = 256;
};

class StreamReceiver {
public:
    explicit StreamReceiver(StreamReceiverSettings settings = {});

    struct Outcome {
        // Hand these on, in this order (possibly none, possibly several).
        std::vector<std::string> deliver;
        // Acknowledge up to this sequence of `ack_epoch` (also when nothing
        // new was handed on: the sender may have missed the last ack);
        // nullopt when the message was ignored (an older epoch).
        std::optional<std::uint64_t> ack;
        std::uint64_t ack_epoch = 0;
        // Already handed on (or given up by the sender): dropped.
        bool duplicate = false;
    };

    Outcome on_message(StreamMessage message);

    std::uint64_t epoch() const { return epoch_; }
    // The next sequence to hand on.
    std::uint64_t expected() const { return expected_; }
    std::size_t early() const { return early_.size(); }

private:
    void skip_to(std::uint64_t floor);
    void drain_early(std::vector<std::string>& deliver);

    StreamReceiverSettings settings_;
    std::uint64_t epoch_ = 0;
    std::uint64_t expected_ = 1;
    std::map<std::uint64_t, std::string> early_;
};

}  // namespace agentlb::protocol
