#include "mgmt/hook_runner.hpp"

#include "common/util/text.hpp"
#include "mgmt/metrics.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace agentlb::mgmt {

namespace {

using Clock = std::chrono::steady_clock;

// At a stop, how long killed hooks are waited for before the runner gives up.
constexpr std::chrono::seconds kHookReapGiveUp{1};

std::string exit_text(int status) {
    if (WIFEXITED(status)) {
        return "exited with status " + std::to_string(WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) {
        return "was killed by signal " + std::to_string(WTERMSIG(status));
    }
    return "ended with wait status " + std::to_string(status);
}

// posix_spawn's attributes and file actions, freed on every path.
struct SpawnSetup {
    posix_spawnattr_t attr{};
    posix_spawn_file_actions_t actions{};

    SpawnSetup() {
        ::posix_spawnattr_init(&attr);
        ::posix_spawn_file_actions_init(&actions);
    }
    ~SpawnSetup() {
        ::posix_spawn_file_actions_destroy(&actions);
        ::posix_spawnattr_destroy(&attr);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;

    // stdin from `read_fd`; nothing else of the server but stdout and stderr;
    // the server ignores SIGPIPE, which exec would pass on.
    int prepare(int read_fd) {
        short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
        int rc = ::posix_spawnattr_setflags(&attr, flags);
        rc = rc != 0 ? rc : ::posix_spawnattr_setpgroup(&attr, 0);
        sigset_t none;
        sigemptyset(&none);
        rc = rc != 0 ? rc : ::posix_spawnattr_setsigmask(&attr, &none);
        sigset_t defaults;
        sigemptyset(&defaults);
        for (int signal : {SIGPIPE, SIGHUP, SIGINT, SIGTERM, SIGCHLD}) {
            sigaddset(&defaults, signal);
        }
        rc = rc != 0 ? rc : ::posix_spawnattr_setsigdefault(&attr, &defaults);
        rc = rc != 0 ? rc : ::posix_spawn_file_actions_adddup2(&actions, read_fd, 0);
        rc = rc != 0 ? rc : ::posix_spawn_file_actions_addclosefrom_np(&actions, 3);
        return rc;
    }
};

void take_pending_sigpipe() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    const timespec none{0, 0};
    while (::sigtimedwait(&pipe, nullptr, &none) == SIGPIPE) {
    }
}

// The server's environment but what may hold the store's password
// ($AGENTLB_DB, libpq's PG* variables): hooks are often scripts that log
// or forward their environment.
std::vector<std::string> hook_environment() {
    std::vector<std::string> out;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        const std::string_view text(*entry);
        if (text.rfind("AGENTLB_DB=", 0) == 0 || text.rfind("PG", 0) == 0) {
            continue;
        }
        out.emplace_back(text);
    }
    return out;
}

}  // namespace

HookRunner::HookRunner(HookSettings settings, Metrics& metrics)
    : settings_(std::move(settings)), metrics_(metrics), queue_(settings_.queue_limit) {
    environment_ = hook_environment();
    for (auto& entry : environment_) {
        envp_.push_back(entry.data());
    }
    envp_.push_back(nullptr);
    thread_ = std::thread([this] { run(); });
}

HookRunner::~HookRunner() {
    stop();
}

void HookRunner::post(HookEvent event) {
    std::uint64_t report = 0;
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            return;
        }
        if (queue_.push(std::move(event))) {
            wake_.notify_one();
            return;
        }
        metrics_.hook_events_dropped.fetch_add(1);
        report = drop_report_.on_drop(Clock::now());
    }
    if (report > 0) {
        spdlog::warn(
            "hook: {} events dropped: {} are already waiting for a hook process (--hook-concurrency {}, "
            "--hook-timeout {} s); see agentlb_hook_events_dropped_total",
            report,
            settings_.queue_limit,
            settings_.concurrency,
            settings_.timeout.count());
    }
}

void HookRunner::stop() {
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            stopping_ = true;
            stop_deadline_ = Clock::now() + std::min<Clock::duration>(settings_.timeout, kHookShutdownGrace);
        }
        wake_.notify_one();
    }
    if (thread_.joinable()) {
        thread_.join();
    }
}

void HookRunner::run() {
    // Process signals go to the other threads; a write to a hook that
    // closed its stdin fails with EPIPE here instead of raising SIGPIPE
    // (also where the process does not ignore it, as in tests).
    sigset_t all;
    sigfillset(&all);
    ::pthread_sigmask(SIG_BLOCK, &all, nullptr);
    std::unique_lock lock(mutex_);
    for (;;) {
        const bool out_of_time = stopping_ && Clock::now() >= stop_deadline_;
        while (!out_of_time && running_.size() < static_cast<std::size_t>(settings_.concurrency)) {
            auto event = queue_.pop();
            if (!event) {
                break;
            }
            lock.unlock();
            spawn(*event);
            lock.lock();
        }
        if (out_of_time) {
            if (const auto left = queue_.clear(); left > 0) {
                metrics_.hook_events_dropped.fetch_add(left);
                spdlog::warn("hook: {} events not run: this server is stopping", left);
            }
        }
        if (stopping_ && queue_.empty() && running_.empty()) {
            return;
        }
        if (stopping_ && Clock::now() >= stop_deadline_ + kHookReapGiveUp) {
            // Killed but not gone (stuck in the kernel): the process is exiting anyway.
            spdlog::warn("hook: {} hook processes did not end after SIGKILL; not waiting for them",
                         running_.size());
            return;
        }
        if (running_.empty()) {
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            continue;
        }
        wake_.wait_for(lock, kHookReapPoll);
        const bool kill_all = stopping_ && Clock::now() >= stop_deadline_;
        lock.unlock();
        const auto now = Clock::now();
        for (auto& child : running_) {
            if (!child.killed && (kill_all || now >= child.deadline)) {
                ::kill(-child.pid, SIGKILL);
                child.killed = true;
            }
            feed_stdin(child);
        }
        running_.erase(std::remove_if(running_.begin(), running_.end(), [this](Child& c) { return reap(c); }),
                       running_.end());
        lock.lock();
    }
}

void HookRunner::spawn(const HookEvent& event) {
    std::array<int, 2> fds{};
    if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
        const int error = errno;
        spdlog::error("hook: cannot run {} for {}: pipe: {}",
                      util::peer_text(settings_.program, util::kShownPathBytes),
                      event.event,
                      std::strerror(error));
        count("failed");
        return;
    }
    SpawnSetup setup;
    int rc = setup.prepare(fds[0]);
    std::string program = settings_.program;
    std::string name = event.event;
    std::array<char*, 3> argv{program.data(), name.data(), nullptr};
    pid_t pid = -1;
    if (rc == 0) {
        rc = ::posix_spawn(&pid, program.c_str(), &setup.actions, &setup.attr, argv.data(), envp_.data());
    }
    ::close(fds[0]);
    if (rc != 0) {
        ::close(fds[1]);
        spdlog::error("hook: cannot run {} for {}: {}",
                      util::peer_text(settings_.program, util::kShownPathBytes),
                      event.event,
                      std::strerror(rc));
        count("failed");
        return;
    }
    ::fcntl(fds[1], F_SETFL, ::fcntl(fds[1], F_GETFL) | O_NONBLOCK);
    Child child;
    child.pid = pid;
    child.event = event.event;
    child.deadline = Clock::now() + settings_.timeout;
    child.stdin_fd = fds[1];
    child.unwritten = hook_event_json(event) + "\n";
    spdlog::debug("hook: {} started for {} (pid {})",
                  util::peer_text(settings_.program, util::kShownPathBytes),
                  event.event,
                  pid);
    feed_stdin(child);
    running_.push_back(std::move(child));
}

void HookRunner::feed_stdin(Child& child) {
    if (child.stdin_fd < 0) {
        return;
    }
    while (!child.unwritten.empty()) {
        const auto n = ::write(child.stdin_fd, child.unwritten.data(), child.unwritten.size());
        if (n > 0) {
            child.unwritten.erase(0, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !child.killed) {
            return;  // the pipe is full: the rest when it drains
        }
        // EPIPE: the hook does not read its stdin, which is its right. The
        // SIGPIPE it raised is pending on this thread (blocked): taken away.
        if (n < 0 && errno == EPIPE) {
            take_pending_sigpipe();
        }
        child.unwritten.clear();
    }
    ::close(child.stdin_fd);
    child.stdin_fd = -1;
}

bool HookRunner::reap(Child& child) {
    int status = 0;
    pid_t r = ::waitpid(child.pid, &status, WNOHANG);
    while (r < 0 && errno == EINTR) {
        r = ::waitpid(child.pid, &status, WNOHANG);
    }
    if (r == 0) {
        return false;
    }
    if (child.stdin_fd >= 0) {
        ::close(child.stdin_fd);
        child.stdin_fd = -1;
    }
    const auto program = util::peer_text(settings_.program, util::kShownPathBytes);
    if (r < 0) {
        // Reaped by someone else (SIGCHLD set to SIG_IGN by other code): the outcome is unknown.
        spdlog::warn(
            "hook: {} for {}: its exit status is lost ({})", program, child.event, std::strerror(errno));
        count("failed");
    } else if (child.killed) {
        spdlog::warn("hook: {} for {} ran longer than --hook-timeout {} s: killed",
                     program,
                     child.event,
                     settings_.timeout.count());
        count("timeout");
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        spdlog::debug("hook: {} for {} done", program, child.event);
        count("ok");
    } else {
        spdlog::warn("hook: {} for {} failed: it {}", program, child.event, exit_text(status));
        count("failed");
    }
    return true;
}

void HookRunner::count(std::string_view result) {
    if (result == "ok") {
        metrics_.hook_runs_ok.fetch_add(1);
    } else if (result == "timeout") {
        metrics_.hook_runs_timeout.fetch_add(1);
    } else {
        metrics_.hook_runs_failed.fetch_add(1);
    }
}

}  // namespace agentlb::mgmt
