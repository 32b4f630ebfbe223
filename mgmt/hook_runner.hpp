#pragma once

// Runs the membership hook (`agentlb-mgmt --hook PROGRAM`) for each event
// posted to it, on a thread of its own, so that no agent session and no I/O
// thread ever waits for a hook:
// - post() only queues (at most kHookQueueLimit events; the rest are dropped,
//   counted in agentlb_hook_events_dropped_total and logged at most every
//   kHookDropLogPeriod);
// - at most `concurrency` hook processes run at once, each started with
//   posix_spawn (no shell): argv = [PROGRAM, EVENT], the event's JSON on
//   stdin, then EOF; in a process group of its own, with no descriptor of the
//   server but stdout and stderr, default signal dispositions and no mask,
//   and the server's environment without $AGENTLB_DB and PG* (they may hold
//   the store's password);
// - stdin is a non-blocking pipe written from this thread: a hook that never
//   reads cannot hold anything up (an event is far below the pipe's buffer;
//   what does not fit is written as the pipe drains, until the timeout);
// - each run is killed (SIGKILL to its process group) after `timeout`;
// - children are reaped by waitpid(pid, WNOHANG) on their own pid, polled
//   from this thread every kHookReapPoll while any runs: no SIGCHLD handler,
//   which would take the signal from any other code of the process.
// Outcomes are counted in agentlb_hook_runs_total{result="ok|failed|timeout"}
// and logged (failures and timeouts with the event name).

#include "mgmt/hook_event.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace agentlb::mgmt {

class Metrics;

inline constexpr std::chrono::seconds kHookDropLogPeriod{10};
inline constexpr std::chrono::milliseconds kHookReapPoll{10};
// At shutdown, queued and running hooks get at most this long (or the hook
// timeout, if shorter) before they are killed or left unrun.
inline constexpr std::chrono::seconds kHookShutdownGrace{5};

struct HookSettings {
    std::string program;
    int concurrency = 4;
    std::chrono::seconds timeout{10};
    std::size_t queue_limit = kHookQueueLimit;
};

class HookRunner {
public:
    HookRunner(HookSettings settings, Metrics& metrics);
    ~HookRunner();  // stop()
    HookRunner(const HookRunner&) = delete;
    HookRunner& operator=(const HookRunner&) = delete;

    // Any thread; never waits for a hook.
    void post(HookEvent event);
    // Runs what is queued for at most min(timeout, kHookShutdownGrace), kills
    // what still runs, and ends the thread. Later posts are dropped quietly.
    void stop();

private:
    struct Child {
        pid_t pid = -1;
        std::string event;
        std::chrono::steady_clock::time_point deadline;
        int stdin_fd = -1;  // -1 once everything was written (or the hook closed it)
        std::string unwritten;
        bool killed = false;
    };

    void run();
    void spawn(const HookEvent& event);
    void feed_stdin(Child& child);
    // True once the child was reaped.
    bool reap(Child& child);
    void count(std::string_view result);

    const HookSettings settings_;
    Metrics& metrics_;
    // What each hook gets as its environment (see hook_environment()).
    std::vector<std::string> environment_;
    std::vector<char*> envp_;
    std::mutex mutex_;
    std::condition_variable wake_;
    HookQueue queue_;                                                   // under mutex_
    DropReport drop_report_{std::chrono::seconds(kHookDropLogPeriod)};  // under mutex_
    bool stopping_ = false;                                             // under mutex_
    std::chrono::steady_clock::time_point stop_deadline_{};             // under mutex_
    std::vector<Child> running_;                                        // the runner thread's only
    std::thread thread_;
};

}  // namespace agentlb::mgmt
