#include "tools/bench/host_streams.hpp"

#include <limits>

namespace agentlb::bench {

namespace {

// The streams keep opaque bodies: the number a message needs back (the
// command's sequence, the answer's reply_to) goes in front of its payload.
std::string with_number(std::uint64_t number, std::string_view payload) {
    std::string body(8, '\0');
    for (int i = 7; i >= 0; --i) {
        body[static_cast<std::size_t>(i)] = static_cast<char>(number & 0xff);
        number >>= 8;
    }
    body += payload;
    return body;
}

std::uint64_t number_of(std::string_view body) {
    std::uint64_t number = 0;
    for (std::size_t i = 0; i < 8 && i < body.size(); ++i) {
        number = (number << 8) | static_cast<unsigned char>(body[i]);
    }
    return number;
}

std::string_view payload_of(std::string_view body) {
    return body.size() < 8 ? std::string_view{} : body.substr(8);
}

constexpr auto kMaxWire = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

}  // namespace

void HostAppCounts::add(const HostAppCounts& other) {
    commands += other.commands;
    duplicated += other.duplicated;
    reordered += other.reordered;
    invalid += other.invalid;
    repeats += other.repeats;
    answers += other.answers;
    answers_acknowledged += other.answers_acknowledged;
    given_up += other.given_up;
    undeliverable += other.undeliverable;
}

HostStreams::HostStreams(const HostAppSettings& settings) : settings_(settings) {}

std::vector<wire::App> HostStreams::on_app(const wire::App& app, client::TimePoint now) {
    return on_apps({app}, now);
}

std::vector<wire::App> HostStreams::on_apps(const std::vector<wire::App>& apps, client::TimePoint now) {
    std::map<std::string, wire::App> acks;  // the last one per application
    for (const auto& app : apps) {
        handle(app, now, acks);
    }
    std::vector<wire::App> out;
    for (auto& [name, ack] : acks) {
        out.push_back(std::move(ack));
    }
    take_due(now, out);
    return out;
}

void HostStreams::handle(const wire::App& app,
                         client::TimePoint now,
                         std::map<std::string, wire::App>& acks) {
    if (app.epoch < 1 || app.sequence < 1) {
        return;  // the machine checked the rules; nothing of ours has these
    }
    auto& peer = peers_[app.app];
    if (app.kind == "message") {
        auto outcome =
            peer.receiver.on_message(client::StreamMessage{static_cast<std::uint64_t>(app.epoch),
                                                           static_cast<std::uint64_t>(app.sequence),
                                                           static_cast<std::uint64_t>(app.floor),
                                                           with_number(app.sequence, app.payload)});
        if (outcome.duplicate) {
            ++counts_.repeats;
        }
        for (const auto& body : outcome.deliver) {
            on_command(peer, number_of(body), payload_of(body), now);
        }
        if (outcome.ack && *outcome.ack <= kMaxWire && outcome.ack_epoch <= kMaxWire) {
            wire::App ack;
            ack.kind = "ack";
            ack.app = app.app;
            ack.epoch = static_cast<std::int64_t>(outcome.ack_epoch);
            ack.sequence = static_cast<std::int64_t>(*outcome.ack);
            // An ack of 0 (nothing handed on yet in this epoch) is not a
            // valid frame: the Client would have it refused; it sends none.
            if (ack.sequence > 0) {
                acks[app.app] = std::move(ack);
            }
        }
    } else if (app.kind == "ack") {
        if (peer.sender && static_cast<std::uint64_t>(app.epoch) == peer.sender->epoch()) {
            counts_.answers_acknowledged += peer.sender->on_ack(static_cast<std::uint64_t>(app.sequence));
            offer_waiting(peer, now);
        }
    } else if (app.kind == "undeliverable") {
        // As the Client: not the end of the message, which goes again until
        // its time to live; counted, because in this scenario it should not happen.
        if (peer.sender && static_cast<std::uint64_t>(app.epoch) == peer.sender->epoch()) {
            ++counts_.undeliverable;
        }
    }
}

void HostStreams::on_command(Peer& peer,
                             std::uint64_t sequence,
                             std::string_view payload,
                             client::TimePoint now) {
    const auto counter = payload_counter(PayloadKind::command, payload);
    if (!counter) {
        ++counts_.invalid;
        return;
    }
    switch (peer.commands.on_counter(*counter)) {
        case CounterCheck::Verdict::in_order:
            break;
        case CounterCheck::Verdict::duplicate:
            ++counts_.duplicated;
            return;  // answered already
        case CounterCheck::Verdict::reordered:
            ++counts_.reordered;
            break;
        case CounterCheck::Verdict::invalid:
            ++counts_.invalid;
            return;
    }
    ++counts_.commands;
    ++counts_.answers;
    peer.waiting.push_back(
        Waiting{sequence, make_payload(PayloadKind::answer, *counter, settings_.answer_bytes)});
    offer_waiting(peer, now);
}

void HostStreams::offer_waiting(Peer& peer, client::TimePoint now) {
    if (!peer.sender) {
        if (peer.waiting.empty()) {
            return;
        }
        peer.sender.emplace(settings_.epoch, settings_.sender);
    }
    while (!peer.waiting.empty()) {
        auto& next = peer.waiting.front();
        if (!peer.sender->offer(with_number(next.reply_to, next.payload), now)) {
            return;  // full: the next ack makes room
        }
        peer.waiting.pop_front();
    }
}

std::vector<wire::App> HostStreams::on_link_reset(client::TimePoint now) {
    for (auto& [name, peer] : peers_) {
        if (peer.sender) {
            peer.sender->on_link_reset();
        }
    }
    std::vector<wire::App> out;
    take_due(now, out);
    return out;
}

std::vector<wire::App> HostStreams::on_tick(client::TimePoint now) {
    on_tick_without_session(now);
    std::vector<wire::App> out;
    take_due(now, out);
    return out;
}

void HostStreams::on_tick_without_session(client::TimePoint now) {
    for (auto& [name, peer] : peers_) {
        if (peer.sender) {
            counts_.given_up += peer.sender->expire(now).size();
            offer_waiting(peer, now);
        }
    }
}

void HostStreams::take_due(client::TimePoint now, std::vector<wire::App>& out) {
    for (auto& [name, peer] : peers_) {
        if (!peer.sender) {
            continue;
        }
        for (auto& message : peer.sender->take_unsent(now)) {
            wire::App app;
            app.kind = "message";
            app.app = name;
            app.epoch = static_cast<std::int64_t>(message.epoch);
            app.sequence = static_cast<std::int64_t>(message.sequence);
            app.floor = static_cast<std::int64_t>(message.floor);
            app.reply_to = static_cast<std::int64_t>(number_of(message.body));
            app.content_type = std::string(kAnswerType);
            app.payload = std::string(payload_of(message.body));
            out.push_back(std::move(app));
        }
    }
}

std::size_t HostStreams::held() const {
    std::size_t held = 0;
    for (const auto& [name, peer] : peers_) {
        held += peer.waiting.size() + (peer.sender ? peer.sender->held() : 0);
    }
    return held;
}

}  // namespace agentlb::bench
