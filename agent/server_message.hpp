#pragma once

// What the agent makes of each message a management server sends, decided
// without sockets: ServerSession (welcome, error, pong, dispatch) and the
// Agent's handlers (migrate, certificate) call these, and so does the fuzz
// target. A pushed list (ms_list, or welcome's correction) goes through
// to_list_push() and apply_push() (list_push.hpp).

#include "common/util/result.hpp"
#include "common/wire/messages.hpp"

#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::agent {

// The longest ping period the agent accepts from welcome: a server's own
// --heartbeat-interval is at most 3600 s; more is not a server of ours (and
// would overflow the timer's arithmetic).
inline constexpr std::chrono::seconds kMaxWelcomeHeartbeat{3600};

// Values the agent would turn into timers, bounded as the CLI bounds them
// (lb::kMaxCheckInterval, kMaxWelcomeHeartbeat): what is out of range, or ""
// when all is fine. A message with such a value is a protocol error.
std::string out_of_range(const wire::MsList& list);
std::string out_of_range(const wire::Welcome& welcome);

// dial(): the ping period welcome asks for (at most kMaxWelcomeHeartbeat,
// although out_of_range() refuses more before this is asked);
// `fallback` when it names none.
std::chrono::milliseconds heartbeat_from_welcome(const wire::Welcome& welcome,
                                                 std::chrono::milliseconds fallback);

// "code: message", peer text made printable, for the log.
std::string describe_server_error(const wire::Error& error);

// What a message after welcome asks of the session.
enum class ServerMessageAction {
    note_pong,          // a ping was answered
    answer_ping,        // send pong with the same seq
    apply_list,         // events.on_list
    migrate,            // events.on_migrate
    check_certificate,  // events.on_certificate
    log_error,          // log it, the server closes if it wants to
    ignore,             // a second welcome
    abort,              // a message only an agent sends: the server is broken
};
ServerMessageAction classify_server_message(const wire::Message& message);

// The newest ping answered, after `pong`: a pong for a ping not sent yet
// answers no more than the last one sent.
std::int64_t answered_pings(std::int64_t last_pong, std::int64_t pings_sent, const wire::Pong& pong);

// After `migrate` from the server at `entry`: the servers it names, plus
// itself unless it is already among them.
std::vector<std::string> avoid_after_migrate(const wire::Migrate& migrate, std::string_view entry);

}  // namespace agentlb::agent
