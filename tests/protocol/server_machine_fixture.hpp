#pragma once

// What the ServerMachine tests share: a machine driven to the point under
// test, and readers for the actions it returns.

#include "common/protocol/server_machine.hpp"
#include "common/wire/frame.hpp"

#include <catch2/catch.hpp>

namespace agentlb::protocol::test {

using namespace std::chrono_literals;
using State = ServerMachine::State;

inline const ServerSettings kSettings{"ms1", 10s, 10s};
inline const TimePoint t0 = TimePoint{} + 1000s;
inline constexpr auto kIdleLimit = 30s;  // 3 heartbeats of 10 s

inline const lb::Algorithm& algorithm(std::string_view name) {
    return *lb::find_algorithm(name).value();
}

inline std::string frame_of(const wire::Message& message) {
    return wire::encode_frame(wire::encode_message(message)).value();
}

inline PeerCertificate certificate_for(std::string name) {
    return PeerCertificate{true, std::move(name), "0a1b", CertificateCheck::good, {}};
}

inline wire::Hello hello_from(std::string name, std::string list = "", std::int64_t interval = 0) {
    return wire::Hello{std::move(name), "zone-a", std::move(list), interval, "0.1.0"};
}

inline HostLookup found(std::vector<std::string> list,
                        std::string algo = "static",
                        std::int64_t generation = 5) {
    HostLookup lookup;
    lookup.found = true;
    lookup.host_id = 7;
    lookup.zone = "zone-a";
    lookup.assignment = lb::Assignment{std::move(list), algo, 0, {}};
    lookup.algorithm = &algorithm(algo);
    lookup.generation = generation;
    return lookup;
}

template <class T>
inline std::vector<T> all_of(const Actions& actions) {
    std::vector<T> out;
    for (const auto& action : actions) {
        if (const auto* a = std::get_if<T>(&action)) {
            out.push_back(*a);
        }
    }
    return out;
}

template <class T>
inline T only(const Actions& actions) {
    const auto found = all_of<T>(actions);
    REQUIRE(found.size() == 1);
    return found.front();
}

// The messages Send actions carry, in order.
inline std::vector<wire::Message> sent(const Actions& actions) {
    std::vector<wire::Message> out;
    for (const auto& send : all_of<Send>(actions)) {
        out.push_back(send.message);
    }
    return out;
}

// The refusal a set of actions ends with: the error sent, then a Close that flushes it first.
inline void check_refused(const Actions& actions, std::string_view code, CloseReason reason) {
    REQUIRE(actions.size() == 2);
    const auto* send = std::get_if<Send>(&actions[0]);
    REQUIRE(send != nullptr);
    const auto* error = std::get_if<wire::Error>(&send->message);
    REQUIRE(error != nullptr);
    CHECK(error->code == code);
    const auto* close = std::get_if<Close>(&actions[1]);
    REQUIRE(close != nullptr);
    CHECK(close->reason == reason);
    CHECK(close->flush_first);
}

inline std::string error_message(const Actions& actions) {
    return std::get<wire::Error>(std::get<Send>(actions.at(0)).message).message;
}

// A machine driven to the point under test.
struct Session {
    ServerMachine machine{kSettings, t0};
    SeqCounter seqs;

    Actions hello(const wire::Hello& hello, PeerCertificate certificate = certificate_for("agent-1")) {
        CHECK(machine.on_handshake_done(std::move(certificate), t0 + 1s).empty());
        return machine.on_message(hello, t0 + 2s);
    }

    // Hello, lookup, recording: welcome queued at t0 + 3s.
    Actions welcome(std::vector<std::string> list = {"a", "b"}, std::string reported = "a,b@static") {
        const auto looked = hello(hello_from("agent-1", std::move(reported)));
        REQUIRE(machine.state() == State::looking_up);
        const auto recorded = machine.on_lookup(found(std::move(list)), seqs, t0 + 3s);
        REQUIRE(machine.state() == State::recording);
        auto actions = machine.on_recorded(t0 + 3s);
        REQUIRE(machine.state() == State::established);
        CHECK(machine.on_flushed(0, false, t0 + 3s).empty());
        return actions;
    }

    AssignmentUpdate update(std::vector<std::string> list, std::int64_t generation = 6) {
        return AssignmentUpdate{
            generation, true, false, lb::Assignment{std::move(list), "static", 0, {}}, &algorithm("static")};
    }
};

}  // namespace agentlb::protocol::test
