// The delivery streams' rules, scripted: what is sent, sent again, handed on,
// dropped and given up, with links that lose, repeat and reorder messages.

#include "client/agentlb_client.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

using namespace agentlb::client;
using namespace std::chrono_literals;

namespace {

const TimePoint kStart = TimePoint{} + 500s;

StreamSenderSettings sender_settings(std::size_t capacity = 8) {
    StreamSenderSettings settings;
    settings.capacity = capacity;
    settings.ttl = 30s;
    settings.resend_after = 1s;
    return settings;
}

std::vector<std::uint64_t> sequences_of(const std::vector<StreamMessage>& messages) {
    std::vector<std::uint64_t> out;
    for (const auto& message : messages) {
        out.push_back(message.sequence);
    }
    return out;
}

// Hands every message to the receiver and acknowledges to the sender what
// the receiver says; returns what was handed on.
std::vector<std::string> carry(StreamSender& sender,
                               StreamReceiver& receiver,
                               const std::vector<StreamMessage>& messages) {
    std::vector<std::string> delivered;
    for (const auto& message : messages) {
        auto outcome = receiver.on_message(message);
        delivered.insert(delivered.end(), outcome.deliver.begin(), outcome.deliver.end());
        if (outcome.ack && outcome.ack_epoch == sender.epoch()) {
            sender.on_ack(*outcome.ack);
        }
    }
    return delivered;
}

}  // namespace

TEST_CASE("a stream hands messages on in order and an acknowledgement frees the sender's room") {
    StreamSender sender(1, sender_settings(3));
    StreamReceiver receiver;
    CHECK(sender.offer("a", kStart) == 1u);
    CHECK(sender.offer("b", kStart) == 2u);
    CHECK(sender.offer("c", kStart) == 3u);
    CHECK(sender.full());
    CHECK_FALSE(sender.offer("d", kStart));

    const auto sent = sender.take_unsent(kStart);
    CHECK(sequences_of(sent) == std::vector<std::uint64_t>{1, 2, 3});
    CHECK(sender.take_unsent(kStart).empty());
    CHECK(carry(sender, receiver, sent) == std::vector<std::string>{"a", "b", "c"});
    CHECK(sender.held() == 0);
    CHECK(sender.offer("d", kStart) == 4u);
}

TEST_CASE(
    "after a link reset the sender sends again what was not acknowledged and the receiver drops repeats") {
    StreamSender sender(1, sender_settings());
    StreamReceiver receiver;
    for (const char* body : {"a", "b", "c"}) {
        REQUIRE(sender.offer(body, kStart));
    }
    auto first = sender.take_unsent(kStart);
    // Only "a" arrived, and its acknowledgement was lost with the link.
    auto outcome = receiver.on_message(first[0]);
    CHECK(outcome.deliver == std::vector<std::string>{"a"});
    sender.on_link_reset();

    const auto again = sender.take_unsent(kStart + 10ms);
    CHECK(sequences_of(again) == std::vector<std::uint64_t>{1, 2, 3});
    const auto repeat = receiver.on_message(again[0]);
    CHECK(repeat.duplicate);
    CHECK(repeat.deliver.empty());
    CHECK(repeat.ack == 1u);  // acknowledged again: the sender missed it
    CHECK(carry(sender, receiver, {again[1], again[2]}) == std::vector<std::string>{"b", "c"});
    CHECK(sender.held() == 0);
}

TEST_CASE("a message that came early waits for the one before it") {
    StreamSender sender(1, sender_settings());
    StreamReceiver receiver;
    for (const char* body : {"a", "b", "c"}) {
        REQUIRE(sender.offer(body, kStart));
    }
    const auto sent = sender.take_unsent(kStart);
    auto early = receiver.on_message(sent[2]);
    CHECK(early.deliver.empty());
    // Nothing of the stream was handed on yet: there is nothing to
    // acknowledge (an ack of 0 is not a valid frame).
    CHECK_FALSE(early.ack);
    CHECK(receiver.early() == 1);
    CHECK(receiver.on_message(sent[0]).deliver == std::vector<std::string>{"a"});
    const auto rest = receiver.on_message(sent[1]);
    CHECK(rest.deliver == std::vector<std::string>{"b", "c"});
    CHECK(rest.ack == 3u);
    CHECK(receiver.early() == 0);
}

TEST_CASE("a receiver keeps only its window of early messages") {
    StreamReceiver receiver(StreamReceiverSettings{3});  // keeps sequences 2..4 while 1 is missing
    CHECK(receiver.on_message({1, 3, 1, "c"}).deliver.empty());
    CHECK(receiver.on_message({1, 4, 1, "d"}).deliver.empty());
    CHECK(receiver.on_message({1, 9, 1, "i"}).deliver.empty());  // beyond the window: dropped
    CHECK(receiver.early() == 2);
    CHECK(receiver.on_message({1, 1, 1, "a"}).deliver == std::vector<std::string>{"a"});
    CHECK(receiver.on_message({1, 2, 1, "b"}).deliver == std::vector<std::string>{"b", "c", "d"});
    CHECK(receiver.expected() == 5);
}

TEST_CASE("a message lost between two live links is sent again once resend_after passes") {
    StreamSender sender(1, sender_settings());
    StreamReceiver receiver;
    REQUIRE(sender.offer("a", kStart));
    REQUIRE(sender.offer("b", kStart));
    const auto sent = sender.take_unsent(kStart);
    // "a" died with a server; "b" went through another one.
    CHECK(carry(sender, receiver, {sent[1]}).empty());
    CHECK(sender.held() == 2);
    CHECK(sender.next_resend() == kStart + 1s);
    CHECK(sender.take_unsent(kStart + 999ms).empty());
    const auto again = sender.take_unsent(kStart + 1s);
    CHECK(sequences_of(again) == std::vector<std::uint64_t>{1, 2});
    CHECK(carry(sender, receiver, again) == std::vector<std::string>{"a", "b"});
    CHECK_FALSE(sender.next_resend());
}

TEST_CASE("an acknowledgement of what was never sent releases nothing") {
    StreamSender sender(1, sender_settings());
    REQUIRE(sender.offer("a", kStart));
    REQUIRE(sender.offer("b", kStart));
    CHECK(sender.on_ack(2) == 0);
    const auto sent = sender.take_unsent(kStart);
    REQUIRE(sent.size() == 2);
    CHECK(sender.on_ack(99) == 2);
    CHECK(sender.held() == 0);
}

TEST_CASE("a message not acknowledged within its time to live comes back, and is never handed on after") {
    StreamSender sender(1, sender_settings());
    StreamReceiver receiver;
    REQUIRE(sender.offer("old", kStart));
    const auto lost = sender.take_unsent(kStart);  // never arrives
    REQUIRE(sender.offer("new", kStart + 20s));
    CHECK(sender.next_expiry() == kStart + 30s);
    CHECK(sender.expire(kStart + 29s).empty());

    const auto expired = sender.expire(kStart + 30s);
    REQUIRE(expired.size() == 1);
    CHECK(expired[0].sequence == 1);
    CHECK(expired[0].body == "old");
    CHECK(sender.next_expiry() == kStart + 50s);

    // The next message carries the floor: the receiver skips the expired one.
    const auto next = sender.take_unsent(kStart + 30s);
    REQUIRE(next.size() == 1);
    CHECK(next[0].floor == 2);
    CHECK(carry(sender, receiver, next) == std::vector<std::string>{"new"});
    // The expired message turning up late is a duplicate, not a delivery.
    const auto late = receiver.on_message(lost[0]);
    CHECK(late.duplicate);
    CHECK(late.deliver.empty());
}

TEST_CASE("a receiver follows a restarted sender's larger epoch and ignores the old one") {
    StreamReceiver receiver;
    CHECK(receiver.on_message({5, 1, 1, "a"}).deliver == std::vector<std::string>{"a"});
    CHECK(receiver.on_message({5, 2, 1, "b"}).deliver == std::vector<std::string>{"b"});
    const auto restarted = receiver.on_message({6, 1, 1, "x"});
    CHECK(restarted.deliver == std::vector<std::string>{"x"});
    CHECK(restarted.ack_epoch == 6);
    const auto stale = receiver.on_message({5, 3, 1, "c"});
    CHECK(stale.deliver.empty());
    CHECK_FALSE(stale.ack);
    CHECK(receiver.epoch() == 6);
}

// Links that drop, repeat and reorder, failovers and expiries at random: the
// receiver hands on what was offered, in order, each once, and what it never
// got came back to the sender as expired.
TEST_CASE("through lossy, repeating and reordering links nothing is lost, repeated or reordered") {
    const auto seed = GENERATE(1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u);
    std::mt19937 random(seed);
    auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(random) < p; };

    StreamSenderSettings settings = sender_settings(16);
    settings.ttl = 20s;
    StreamSender sender(1, settings);
    StreamReceiver receiver(StreamReceiverSettings{8});
    std::vector<std::string> offered;
    std::vector<std::string> expired;
    std::vector<std::string> delivered;
    std::vector<StreamMessage> in_flight;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> acks_in_flight;  // epoch, sequence
    TimePoint now = kStart;
    int next_body = 0;

    for (int step = 0; step < 4000; ++step) {
        now += 37ms;
        if (chance(0.4)) {
            std::string body = "m" + std::to_string(next_body);
            if (sender.offer(body, now)) {
                offered.push_back(body);
                ++next_body;
            }
        }
        for (auto& message : sender.take_unsent(now)) {
            if (!chance(0.1)) {
                in_flight.push_back(message);
            }
            if (chance(0.05)) {
                in_flight.push_back(message);
            }
        }
        if (chance(0.02)) {
            sender.on_link_reset();  // a failover: what was on the old link may still arrive
        }
        if (chance(0.2) && in_flight.size() > 1) {
            std::swap(in_flight[0], in_flight[1]);
        }
        if (!in_flight.empty() && chance(0.7)) {
            auto outcome = receiver.on_message(in_flight.front());
            in_flight.erase(in_flight.begin());
            delivered.insert(delivered.end(), outcome.deliver.begin(), outcome.deliver.end());
            if (outcome.ack && !chance(0.1)) {
                acks_in_flight.emplace_back(outcome.ack_epoch, *outcome.ack);
            }
        }
        if (!acks_in_flight.empty() && chance(0.6)) {
            sender.on_ack(acks_in_flight.front().second);
            acks_in_flight.erase(acks_in_flight.begin());
        }
        // A host away for a while: nothing arrives, things expire.
        if (step % 1000 == 500) {
            in_flight.clear();
            now += 25s;
        }
        for (auto& gone : sender.expire(now)) {
            expired.push_back(std::move(gone.body));
        }
    }
    // Let the links settle: no more losses.
    for (int round = 0; round < 200 && sender.held() > 0; ++round) {
        now += 1s;
        for (auto& message : sender.take_unsent(now)) {
            auto outcome = receiver.on_message(message);
            delivered.insert(delivered.end(), outcome.deliver.begin(), outcome.deliver.end());
            sender.on_ack(*outcome.ack);
        }
    }
    INFO("seed " << seed << ": offered " << offered.size() << ", expired " << expired.size());
    REQUIRE(sender.held() == 0);
    CHECK_FALSE(expired.empty());
    CHECK(delivered.size() > offered.size() / 2);

    // Every offered message was handed on or reported expired (both when its
    // acknowledgement was lost and it expired after it was handed on).
    std::vector<std::string> accounted = delivered;
    accounted.insert(accounted.end(), expired.begin(), expired.end());
    std::sort(accounted.begin(), accounted.end());
    accounted.erase(std::unique(accounted.begin(), accounted.end()), accounted.end());
    std::vector<std::string> sorted_offered = offered;
    std::sort(sorted_offered.begin(), sorted_offered.end());
    CHECK(accounted == sorted_offered);
    // Handed on once each, in the order offered.
    std::vector<std::string> offered_delivered;
    for (const auto& body : offered) {
        if (std::find(delivered.begin(), delivered.end(), body) != delivered.end()) {
            offered_delivered.push_back(body);
        }
    }
    CHECK(delivered == offered_delivered);
}
