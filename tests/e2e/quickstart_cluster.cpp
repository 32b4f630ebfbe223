#include "tests/e2e/quickstart_cluster.hpp"

#include <arpa/inet.h>
#include <fstream>
#include <netinet/in.h>
#include <random>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace agentlb::test {

namespace fs = std::filesystem;

Listener::Listener(const std::string& ip, std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        return;
    }
    const int on = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    ::inet_pton(AF_INET, ip.c_str(), &address.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 || ::listen(fd_, 4) != 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

Listener::~Listener() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

namespace {

// The quickstart uses five ports from its base on 127.0.0.1..3. Bases are
// drawn below Linux's ephemeral range so outgoing connections never hold them.
std::uint16_t free_port_block() {
    std::mt19937 random(std::random_device{}());
    std::uniform_int_distribution<int> pick(2000, 3100);
    for (int attempt = 0; attempt < 100; ++attempt) {
        const auto base = static_cast<std::uint16_t>(pick(random) * 10);
        bool free = true;
        for (int offset = 0; offset < 5 && free; ++offset) {
            for (const char* ip : {"127.0.0.1", "127.0.0.2", "127.0.0.3"}) {
                if (!Listener(ip, static_cast<std::uint16_t>(base + offset)).ok()) {
                    free = false;
                    break;
                }
            }
        }
        if (free) {
            return base;
        }
    }
    throw std::runtime_error("no free block of five ports on 127.0.0.1..3");
}

}  // namespace

std::vector<std::string> words(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> out;
    for (std::string word; in >> word;) {
        out.push_back(word);
    }
    return out;
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::vector<ProcessInfo> processes_mentioning(const std::string& needle) {
    std::vector<ProcessInfo> found;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        const std::string stat = read_text(entry.path() / "stat");
        const auto close = stat.rfind(") ");
        if (close == std::string::npos || stat.compare(close + 2, 1, "Z") == 0) {
            continue;
        }
        const std::string cmdline = read_text(entry.path() / "cmdline");
        ProcessInfo info;
        info.pid = static_cast<pid_t>(std::stol(name));
        bool mentions = false;
        for (std::size_t start = 0; start < cmdline.size();) {
            const auto end = cmdline.find('\0', start);
            info.args.push_back(cmdline.substr(start, end - start));
            mentions = mentions || info.args.back().find(needle) != std::string::npos;
            start = end == std::string::npos ? cmdline.size() : end + 1;
        }
        if (!mentions) {
            continue;
        }
        info.exe = fs::read_symlink(entry.path() / "exe", ec).filename().string();
        found.push_back(std::move(info));
    }
    return found;
}

bool process_gone(pid_t pid) {
    const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
    const auto close = stat.rfind(") ");
    return stat.empty() || close == std::string::npos || stat.compare(close + 2, 1, "Z") == 0;
}

std::string recorded(const fs::path& run_dir, const std::string& key) {
    std::istringstream lines(read_text(run_dir / "env"));
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(key + "=", 0) == 0) {
            return line.substr(key.size() + 1);
        }
    }
    return "";
}

std::string describe(const CommandResult& result) {
    return "exit " + std::to_string(result.exit_code) + "\n--- stdout\n" + result.out + "\n--- stderr\n" +
           result.err;
}

Quickstart::Quickstart(std::string store) : base_(free_port_block()), store_(std::move(store)) {
    // PostgreSQL runs as `nobody` when the tests run as root: let it reach
    // the folder, as in a normal checkout.
    fs::permissions(dir_.path(), fs::perms::owner_all | fs::perms::others_exec | fs::perms::group_exec);
}

Quickstart::~Quickstart() {
    // The script's own stop first; then anything that still names the folder
    // (a half-started cluster, a script that failed) is killed.
    stop();
    for (const auto& process : processes_mentioning(run_dir().string())) {
        ::kill(process.pid, SIGKILL);
    }
    // A PostgreSQL folder outside the run folder (see quickstart.sh) goes too.
    const std::string pg_dir = recorded(run_dir(), "AGENTLB_QUICKSTART_PG_DIR");
    if (!pg_dir.empty() && pg_dir.rfind(run_dir().string(), 0) != 0) {
        run_command({AGENTLB_PG_LOCAL, "stop", pg_dir}, kQuickstartStopTimeout);
    }
}

CommandResult Quickstart::run(const std::vector<std::string>& args, std::chrono::milliseconds timeout) const {
    std::vector<std::string> argv{"/bin/bash", AGENTLB_QUICKSTART};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv,
                       timeout,
                       {{"AGENTLB_RUN", run_dir().string()},
                        {"AGENTLB_BIN", AGENTLB_BIN_DIR},
                        {"AGENTLB_PORT_BASE", std::to_string(base_)},
                        {"AGENTLB_STORE", store_}});
}

CommandResult Quickstart::ctl(const std::vector<std::string>& args, std::chrono::milliseconds timeout) const {
    std::vector<std::string> argv{
        std::string(AGENTLB_BIN_DIR) + "/agentlbctl", "--db", sqlite_store().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, timeout);
}

std::map<std::string, pid_t> Quickstart::recorded_pids() const {
    std::map<std::string, pid_t> pids;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(run_dir() / "pids", ec)) {
        if (entry.path().extension() == ".pid") {
            pids[entry.path().stem().string()] = static_cast<pid_t>(std::stol(read_text(entry.path())));
        }
    }
    return pids;
}

}  // namespace agentlb::test
