#pragma once

// Child processes for integration tests.
//
// Process starts a long-running binary (a daemon) with its stdout and stderr
// in a log file; the destructor SIGKILLs and reaps it, so a failing test
// leaves nothing behind. The child also gets SIGKILL if the test process
// dies (PR_SET_PDEATHSIG). run_command runs a short command to completion.

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace agentlb::test {

class Process {
public:
    // argv[0] is the binary's path. `env` entries are added to (or replace
    // entries of) the test's own environment.
    Process(std::vector<std::string> argv,
            std::filesystem::path log_file,
            std::map<std::string, std::string> env = {});
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const { return pid_; }
    const std::filesystem::path& log_file() const { return log_file_; }
    std::string log() const;

    bool is_running();
    void kill(int signal);
    // The exit code, or 128 + signal number if a signal ended it; nothing if
    // it is still running after `timeout`.
    std::optional<int> wait(std::chrono::milliseconds timeout);

private:
    bool reap(bool block);

    pid_t pid_ = -1;
    std::filesystem::path log_file_;
    std::optional<int> status_;
};

struct CommandResult {
    int exit_code = -1;  // 128 + signal if killed; -1 if it had to be killed at the timeout
    std::string out;
    std::string err;
};

CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10),
                          const std::map<std::string, std::string>& env = {});

}  // namespace agentlb::test
