#pragma once

// The host side of the platform's own messages for one simulated agent (the
// messages scenario): what a host's software does through the client
// library, here in-process and without a socket, because the simulated agent
// is both the agent and the host. Sans-I/O: `app` messages in, `app`
// messages to send out; SimAgent carries them over its session.
//
// The rules are client::Client's (client/agentlb_client.cpp), so that the
// bench measures the streams a real host would run:
// - per application, a StreamReceiver: each message goes through
//   on_message(); what it hands on is handed on, and an ack of its
//   cumulative answer goes back for every message, a repeat included;
// - per application, a StreamSender with the Client's defaults (capacity
//   1,024, time to live 60 s, resend after 1 s): an ack counts only for the
//   sender's own epoch; what offer() refuses waits, in order, for room;
// - a new session is a link reset: everything held goes again, as the
//   Client does when it connects again; between sessions nothing is sent
//   and what outlives its time to live expires.
// Each command handed on is answered at once with a message whose reply_to
// is the command's sequence and whose payload repeats its counter.

#include "client/agentlb_client.hpp"
#include "common/wire/messages.hpp"
#include "tools/bench/message_check.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::bench {

struct HostAppSettings {
    std::size_t answer_bytes = 256;
    // The epoch of every host's streams in this worker: larger at each
    // start, as the Client's (microseconds since 1970).
    std::uint64_t epoch = 1;
    client::StreamSenderSettings sender{};
};

// Counts of one host, or summed over a worker's hosts.
struct HostAppCounts {
    std::size_t commands = 0;    // distinct commands handed on
    std::size_t duplicated = 0;  // a command handed on again
    std::size_t reordered = 0;   // a command handed on after a later one
    std::size_t invalid = 0;     // a payload that is not a command, or an impossible counter
    std::size_t repeats = 0;     // messages the receiver dropped as already handed on (resends)
    std::size_t answers = 0;     // answers offered
    std::size_t answers_acknowledged = 0;
    std::size_t given_up = 0;       // answers expired unacknowledged
    std::size_t undeliverable = 0;  // `undeliverable` frames about our answers

    void add(const HostAppCounts& other);
};

class HostStreams {
public:
    explicit HostStreams(const HostAppSettings& settings);

    // The `app` messages of one read from the server; returns what to send,
    // as the Client's next pass would write it: one cumulative ack per
    // application whose messages were handed on (or repeated), then the
    // answers due.
    std::vector<wire::App> on_apps(const std::vector<wire::App>& apps, client::TimePoint now);
    // One message alone: on_apps({app}).
    std::vector<wire::App> on_app(const wire::App& app, client::TimePoint now);
    // A new session: what is held goes again.
    std::vector<wire::App> on_link_reset(client::TimePoint now);
    // Now and then: resends due, answers expired.
    std::vector<wire::App> on_tick(client::TimePoint now);
    // Now and then while no session is established: answers expire (the
    // Client expires while its connection is away, and sends nothing).
    void on_tick_without_session(client::TimePoint now);

    // Answers not acknowledged yet, or not offered yet for want of room.
    std::size_t held() const;
    const HostAppCounts& counts() const { return counts_; }

private:
    struct Waiting {
        std::uint64_t reply_to;
        std::string payload;
    };
    struct Peer {
        client::StreamReceiver receiver;
        std::optional<client::StreamSender> sender;
        std::deque<Waiting> waiting;  // answers offer() refused, oldest first
        CounterCheck commands;
    };

    void handle(const wire::App& app, client::TimePoint now, std::map<std::string, wire::App>& acks);
    void on_command(Peer& peer, std::uint64_t sequence, std::string_view payload, client::TimePoint now);
    void offer_waiting(Peer& peer, client::TimePoint now);
    void take_due(client::TimePoint now, std::vector<wire::App>& out);

    const HostAppSettings& settings_;
    std::map<std::string, Peer, std::less<>> peers_;  // by application name
    HostAppCounts counts_;
};

}  // namespace agentlb::bench
