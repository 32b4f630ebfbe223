#pragma once

// Shared by the app message tests (issue 19) that drive client::Client at
// both ends: pumping two clients, and reading what each one received.

#include "client/agentlb_client.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace agentlb::test {

// A local frame as the tests write them: a message's floor is its own
// sequence (nothing older held).
client::Frame local_frame(client::FrameKind kind,
                          std::string peer,
                          std::uint64_t epoch,
                          std::uint64_t sequence,
                          std::string payload = "",
                          std::uint64_t reply_to = 0);

// Polls both clients in turn until `done` or `timeout`; every event is kept.
bool pump(client::Client& a,
          std::vector<client::Event>& a_events,
          client::Client& b,
          std::vector<client::Event>& b_events,
          const std::function<bool()>& done,
          std::chrono::milliseconds timeout);

// The payloads of the messages received from `from`, in order.
std::vector<std::string> payloads_of(const std::vector<client::Event>& events, const std::string& from);

// Whether everything up to sequence `up_to` was acknowledged.
bool all_delivered(const std::vector<client::Event>& events, std::uint64_t up_to);

// Whether any message was given up.
bool any_given_up(const std::vector<client::Event>& events);

// An application and a host's software, each a client::Client, sending each
// other numbered messages in phases; the tests kill and drain things
// between the phases and check that everything came through once, in order.
class TwoWayStreams {
public:
    TwoWayStreams(const std::string& app_socket, const std::string& host_socket, std::string host);

    // kPerPhase messages each way.
    static constexpr int kPerPhase = 100;
    void send_phase(int phase);
    // Pumps both clients until everything sent came through and was
    // acknowledged, or `timeout`.
    bool through(std::chrono::milliseconds timeout);
    // Pumps both clients for `duration`, whatever happens.
    void pump_for(std::chrono::milliseconds duration);
    // Pumps both clients until `done`, or `timeout`.
    bool pump_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);

    // Each side's messages as received, and as sent.
    std::vector<std::string> at_host() const { return payloads_of(host_events_, "cloudstack"); }
    std::vector<std::string> at_app() const { return payloads_of(app_events_, host_); }
    const std::vector<std::string>& sent_to_host() const { return to_host_; }
    const std::vector<std::string>& sent_to_app() const { return to_app_; }
    std::size_t unacknowledged() const { return app_.unacknowledged() + host_client_.unacknowledged(); }
    bool any_given_up() const;

private:
    std::string host_;
    client::Client app_;
    client::Client host_client_;
    std::vector<client::Event> app_events_;
    std::vector<client::Event> host_events_;
    std::vector<std::string> to_host_;
    std::vector<std::string> to_app_;
};

}  // namespace agentlb::test
