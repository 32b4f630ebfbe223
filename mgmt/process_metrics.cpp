#include "mgmt/process_metrics.hpp"

#include "mgmt/metrics.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

#ifndef AGENTLB_VERSION
#define AGENTLB_VERSION "unknown"
#endif

namespace agentlb::mgmt {

namespace {

// Fields of /proc/<pid>/stat counted from 1 (proc(5)).
constexpr std::size_t kFirstAfterCommand = 3;  // state
constexpr std::size_t kUtime = 14;
constexpr std::size_t kStime = 15;
constexpr std::size_t kStartTime = 22;
constexpr std::size_t kVsize = 23;
constexpr std::size_t kRss = 24;

std::optional<std::string> read_text(const char* path) {
    std::ifstream in(path);
    if (!in) {
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::optional<double> boot_time() {
    std::ifstream in("/proc/stat");
    std::string key;
    while (in >> key) {
        if (key == "btime") {
            double value = 0;
            if (in >> value) {
                return value;
            }
            return std::nullopt;
        }
        in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    return std::nullopt;
}

double open_descriptors() {
    std::error_code ec;
    double count = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec)) {
        ++count;
    }
    return count;
}

}  // namespace

std::optional<ProcessSample> parse_proc_stat(std::string_view stat,
                                             double ticks_per_second,
                                             double page_size,
                                             double boot_time) {
    const auto close = stat.rfind(')');
    if (close == std::string_view::npos || ticks_per_second <= 0) {
        return std::nullopt;
    }
    std::istringstream rest{std::string(stat.substr(close + 1))};
    std::vector<std::string> fields;
    for (std::string field; rest >> field;) {
        fields.push_back(std::move(field));
    }
    auto field = [&fields](std::size_t number) -> std::optional<double> {
        const auto index = number - kFirstAfterCommand;
        if (index >= fields.size()) {
            return std::nullopt;
        }
        try {
            std::size_t used = 0;
            const double value = std::stod(fields[index], &used);
            return used == fields[index].size() ? std::optional<double>(value) : std::nullopt;
        } catch (const std::exception&) {
            return std::nullopt;
        }
    };
    const auto utime = field(kUtime);
    const auto stime = field(kStime);
    const auto start = field(kStartTime);
    const auto vsize = field(kVsize);
    const auto rss = field(kRss);
    if (!utime || !stime || !start || !vsize || !rss) {
        return std::nullopt;
    }
    ProcessSample sample;
    sample.cpu_seconds = (*utime + *stime) / ticks_per_second;
    sample.start_time_seconds = boot_time + *start / ticks_per_second;
    sample.virtual_bytes = *vsize;
    sample.resident_bytes = *rss * page_size;
    return sample;
}

std::optional<ProcessSample> sample_this_process() {
    const auto stat = read_text("/proc/self/stat");
    const auto booted = boot_time();
    if (!stat || !booted) {
        return std::nullopt;
    }
    auto sample = parse_proc_stat(*stat,
                                  static_cast<double>(::sysconf(_SC_CLK_TCK)),
                                  static_cast<double>(::sysconf(_SC_PAGESIZE)),
                                  *booted);
    if (!sample) {
        return std::nullopt;
    }
    sample->open_fds = open_descriptors();
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
        sample->max_fds = static_cast<double>(limit.rlim_cur);
    }
    return sample;
}

std::string render_process_series(const ProcessSample& sample) {
    std::string out;
    auto series = [&out](std::string_view name, std::string_view type, std::string_view help, double value) {
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
    };
    series("process_cpu_seconds_total",
           "counter",
           "Total user and system CPU time spent in seconds.",
           sample.cpu_seconds);
    series("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", sample.resident_bytes);
    series("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", sample.virtual_bytes);
    series("process_start_time_seconds",
           "gauge",
           "Start time of the process since unix epoch in seconds.",
           sample.start_time_seconds);
    series("process_open_fds", "gauge", "Number of open file descriptors.", sample.open_fds);
    if (sample.max_fds) {
        series("process_max_fds", "gauge", "Maximum number of open file descriptors.", *sample.max_fds);
    }
    return out;
}

std::string render_build_info(std::string_view version, std::string_view openssl) {
    std::string out;
    out +=
        "# HELP agentlb_build_info This build of agentlb-mgmt: its version and the OpenSSL it runs with "
        "(always 1).\n";
    out += "# TYPE agentlb_build_info gauge\n";
    out += fmt::format("agentlb_build_info{{version=\"{}\",openssl=\"{}\"}} 1\n",
                       escape_label_value(version),
                       escape_label_value(openssl));
    return out;
}

std::string render_build_info() {
    return render_build_info(AGENTLB_VERSION, OpenSSL_version(OPENSSL_VERSION_STRING));
}

}  // namespace agentlb::mgmt
