#pragma once

// The management application of the messages scenario: one real
// client::Client on a server's --app-socket, sending commands to its hosts
// and checking their answers. Each command carries its host's counter; each
// answer must come once, in order, with its command's counter
// (message_check.hpp). One thread drives one AppDriver (the Client is
// blocking and not thread-safe); several connections are several drivers,
// each with a name of its own, since a host's answer goes to the oldest
// connection of the name it answers.

#include "client/agentlb_client.hpp"
#include "tools/bench/message_check.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace agentlb::bench {

struct AppDriverSettings {
    std::string socket_path;
    std::string name;                // the application's name in its hello
    std::vector<std::string> hosts;  // the hosts this connection commands
    std::size_t payload_bytes = 256;
};

// What one phase counted within its measured window.
struct AppPhase {
    std::size_t commands = 0;      // sent (taken by the Client)
    std::size_t acknowledged = 0;  // commands the hosts acknowledged
    std::size_t answers = 0;       // answers received
    std::vector<double> rtt_ms;    // send() -> its answer, for the answers received
    std::size_t refused = 0;       // send() refused (the stream to the host was full)

    void add(const AppPhase& other);
};

// Over the whole run, for the checks.
struct AppTotals {
    std::size_t commands = 0;
    std::size_t answers = 0;         // answers to a command waiting for one
    std::size_t duplicated = 0;      // an answer again
    std::size_t reordered = 0;       // an answer after the answer to a later command
    std::size_t mismatched = 0;      // an answer to no command sent, or not repeating its command's counter
    std::size_t given_up = 0;        // commands the Client gave up (not acknowledged within its time to live)
    std::size_t unanswered = 0;      // commands still waiting for their answer
    std::size_t unacknowledged = 0;  // commands the hosts have not acknowledged (Client::unacknowledged)
    std::size_t disconnects = 0;     // times the Client lost its connection
    std::string first_disconnect;    // why, the first time

    void add(const AppTotals& other);
};

// Runs `body(c)` for c in 0..count-1, each on a thread of its own, and
// waits for all: one thread per AppDriver.
void on_each(std::size_t count, const std::function<void(std::size_t)>& body);

class AppDriver {
public:
    using Clock = std::chrono::steady_clock;

    explicit AppDriver(AppDriverSettings settings);

    // Polls until the Client is connected; false at `deadline` (last_error() says why).
    bool connect(Clock::time_point deadline);
    // Commands at `rate` per second, round-robin over the hosts, until `end`
    // or until `stop` (when given) is set by another thread.
    AppPhase paced(double rate, Clock::time_point end, const std::atomic<bool>* stop = nullptr);
    // Keeps up to `window` commands per host and `inflight` in all waiting
    // for their answers, round-robin, until `end`; counts from `from` on.
    AppPhase saturate(std::size_t window,
                      std::size_t inflight,
                      Clock::time_point from,
                      Clock::time_point end);
    // Sends nothing new; polls until every command is answered and
    // acknowledged, or `deadline`. Answers are counted into `phase` when given.
    void drain(Clock::time_point deadline, AppPhase* phase = nullptr);

    AppTotals totals() const;
    const std::string& last_error() const { return client_.last_error(); }

private:
    struct Waiting {
        std::uint64_t counter;
        Clock::time_point sent;
    };
    struct Host {
        std::string name;
        std::uint64_t next_counter = 1;
        std::uint64_t acknowledged = 0;            // highest sequence the host acknowledged
        std::map<std::uint64_t, Waiting> waiting;  // by sequence: commands without an answer
        CounterCheck answers;
    };

    bool send_command(std::size_t host, AppPhase* phase);
    // One poll; events counted into `phase` while `counting`.
    void poll_once(std::chrono::milliseconds timeout, AppPhase* phase, bool counting);
    void on_answer(const client::Event& event, Host& host, std::size_t index, AppPhase* phase, bool counting);

    AppDriverSettings settings_;
    client::Client client_;
    std::vector<Host> hosts_;
    std::unordered_map<std::string, std::size_t> index_;  // host name -> hosts_ index
    std::size_t waiting_ = 0;                             // commands without an answer, all hosts
    std::deque<std::size_t>* ready_ = nullptr;            // saturate(): hosts with room for one more
    AppTotals totals_;
    bool was_connected_ = false;
};

}  // namespace agentlb::bench
