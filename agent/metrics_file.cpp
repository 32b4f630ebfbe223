#include "agent/metrics_file.hpp"

#include "common/util/atomic_file.hpp"

#include <openssl/crypto.h>

#include <chrono>
#include <cstdio>
#include <sstream>
#include <sys/stat.h>

namespace agentlb::agent {

namespace {

// Label values in the text format escape backslash, double quote and newline.
std::string label_value(const std::string& value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

void family(std::ostringstream& out, const char* name, const char* type, const char* help) {
    out << "# HELP " << name << ' ' << help << '\n' << "# TYPE " << name << ' ' << type << '\n';
}

std::string seconds_text(double seconds) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.3f", seconds);
    return buffer;
}

}  // namespace

std::string render_agent_metrics(const AgentFigures& figures) {
    std::ostringstream out;
    family(
        out, "agentlb_agent_connected", "gauge", "Whether the agent holds a session to a management server.");
    out << "agentlb_agent_connected " << (figures.connected ? 1 : 0) << '\n';
    family(out,
           "agentlb_agent_server_info",
           "gauge",
           "The management server the agent is on and its position in the held list (1 = first, 0 = not "
           "listed); absent while not connected.");
    if (figures.connected) {
        out << "agentlb_agent_server_info{server=\"" << label_value(figures.server) << "\",position=\""
            << figures.position << "\"} 1\n";
    }
    family(out,
           "agentlb_agent_failovers_total",
           "counter",
           "Connections taken on another server after the connection to one was lost (not planned moves).");
    out << "agentlb_agent_failovers_total " << figures.failovers << '\n';
    family(out,
           "agentlb_agent_list_changed_timestamp_seconds",
           "gauge",
           "When the held server list last changed, in unix seconds (0: unknown).");
    out << "agentlb_agent_list_changed_timestamp_seconds " << figures.list_changed_at << '\n';
    family(out,
           "agentlb_agent_certificate_not_after_seconds",
           "gauge",
           "End of validity of the agent's certificate, in unix seconds.");
    if (figures.certificate_not_after) {
        out << "agentlb_agent_certificate_not_after_seconds " << *figures.certificate_not_after << '\n';
    }
    family(out, "agentlb_agent_build_info", "gauge", "The agent's version and the OpenSSL it runs with.");
    out << "agentlb_agent_build_info{version=\"" << label_value(figures.version) << "\",openssl=\""
        << label_value(figures.openssl) << "\"} 1\n";
    family(out,
           "agentlb_agent_last_write_timestamp_seconds",
           "gauge",
           "When the agent wrote this file, in unix seconds.");
    out << "agentlb_agent_last_write_timestamp_seconds " << seconds_text(figures.written_at) << '\n';
    return out.str();
}

Status write_agent_metrics(const std::filesystem::path& path, const AgentFigures& figures) {
    // node_exporter runs as another user: the file is world-readable.
    return util::write_file_atomically(path, render_agent_metrics(figures), 0644);
}

AgentFigures figures_now() {
    AgentFigures figures;
    figures.version = AGENTLB_VERSION;
    figures.openssl = OpenSSL_version(OPENSSL_VERSION_STRING);
    figures.written_at =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    return figures;
}

std::int64_t modified_unix_seconds(const std::filesystem::path& path) {
    struct ::stat info {};
    if (::stat(path.c_str(), &info) != 0) {
        return 0;
    }
    return static_cast<std::int64_t>(info.st_mtim.tv_sec);
}

}  // namespace agentlb::agent
