#pragma once

// One tools/quickstart.sh cluster for end-to-end tests, driven as an operator
// drives it: the built binaries (AGENTLB_BIN), a free block of ports and a
// temp working folder. Its destructor ends every process the cluster started,
// even when the test fails.

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <sys/types.h>
#include <vector>

namespace agentlb::test {

// Generous: a sanitizer build on a busy two-core machine is slow. The script
// itself gives up on each wait after 30 s.
constexpr auto kQuickstartStartTimeout = std::chrono::milliseconds(std::chrono::seconds(180));
constexpr auto kQuickstartStopTimeout = std::chrono::milliseconds(std::chrono::seconds(60));

inline const std::vector<std::string> kQuickstartServers{"ms1", "ms2", "ms3"};
inline const std::vector<std::string> kQuickstartAgents{"kvm1", "kvm2", "kvm3", "kvm4", "kvm5", "kvm6"};

// A listening socket on ip:port, closed with the object; ok() is false when
// the address is taken. SO_REUSEADDR as the daemons' acceptors set it.
class Listener {
public:
    Listener(const std::string& ip, std::uint16_t port);
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;
    bool ok() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

std::string read_text(const std::filesystem::path& path);
std::vector<std::string> words(const std::string& line);

struct ProcessInfo {
    pid_t pid = 0;
    std::string exe;  // the binary's file name
    std::vector<std::string> args;
};

// Live (not zombie) processes with `needle` in one of their arguments.
std::vector<ProcessInfo> processes_mentioning(const std::string& needle);
bool process_gone(pid_t pid);

// The value of KEY= in the run folder's env file, or "".
std::string recorded(const std::filesystem::path& run_dir, const std::string& key);

// Exit code and both outputs, for INFO().
std::string describe(const CommandResult& result);

// One quickstart cluster in its own temp folder and port block; `store` is
// AGENTLB_STORE ("" leaves it unset).
class Quickstart {
public:
    explicit Quickstart(std::string store = "");
    ~Quickstart();
    Quickstart(const Quickstart&) = delete;
    Quickstart& operator=(const Quickstart&) = delete;

    // tools/quickstart.sh ARGS... with this cluster's variables. (A `const
    // char*`, not a string, for one word: {"restart", "ms1"} would also make
    // a std::string from two pointers.)
    CommandResult run(const std::vector<std::string>& args, std::chrono::milliseconds timeout) const;
    CommandResult run(const char* command, std::chrono::milliseconds timeout) const {
        return run(std::vector<std::string>{command}, timeout);
    }
    CommandResult start() const { return run("start", kQuickstartStartTimeout); }
    CommandResult stop() const { return run("stop", kQuickstartStopTimeout); }

    // The built agentlbctl on this cluster's store (the SQLite one).
    CommandResult ctl(const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;

    std::filesystem::path run_dir() const { return dir_ / "run"; }
    std::filesystem::path sqlite_store() const { return run_dir() / "agentlb.db"; }
    std::uint16_t base() const { return base_; }

    // ms1..ms3 are 127.0.0.1..3, all on the base port.
    std::string server_address(int index) const {
        return "127.0.0." + std::to_string(index) + ":" + std::to_string(base_);
    }

    // The pid recorded for each process the script runs.
    std::map<std::string, pid_t> recorded_pids() const;

private:
    TempDir dir_;  // declared first: removed last, after the processes are gone
    std::uint16_t base_;
    std::string store_;
};

}  // namespace agentlb::test
