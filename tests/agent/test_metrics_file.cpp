// The agent's metrics file (--metrics-file): what it holds, its format
// (checked by promtool, as node_exporter's textfile collector would parse it)
// and how it is written.

#include "agent/metrics_file.hpp"
#include "common/util/atomic_file.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <ctime>
#include <sys/stat.h>

using namespace agentlb;
using namespace agentlb::agent;
using namespace agentlb::test;

namespace {

AgentFigures connected_figures() {
    AgentFigures figures;
    figures.connected = true;
    figures.server = "127.0.0.2:8250";
    figures.position = 2;
    figures.failovers = 3;
    figures.list_changed_at = 1764950000;
    figures.certificate_not_after = 1796486400;
    figures.version = "1.2.3";
    figures.openssl = "3.0.11";
    figures.written_at = 1764950123.25;
    return figures;
}

bool has_line(const std::string& text, const std::string& line) {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

// promtool's verdict on `text` (its lint included): empty when clean.
std::string promtool_complaints(const std::string& text) {
    TempDir dir;
    const auto file = dir / "agent.prom";
    REQUIRE(util::write_file_atomically(file, text).ok());
    const auto checked = run_command({"/bin/sh", "-c", "promtool check metrics < \"$0\"", file.string()});
    if (checked.exit_code == 127 || checked.err.find("not found") != std::string::npos) {
        FAIL("promtool is not installed (Debian package prometheus, in tools/deps.sh)");
    }
    return checked.exit_code == 0
               ? checked.out + checked.err
               : "exit " + std::to_string(checked.exit_code) + ": " + checked.out + checked.err;
}

}  // namespace

TEST_CASE("metrics file: a connected agent's figures") {
    const std::string text = render_agent_metrics(connected_figures());
    INFO(text);
    CHECK(has_line(text, "agentlb_agent_connected 1"));
    CHECK(has_line(text, "agentlb_agent_server_info{server=\"127.0.0.2:8250\",position=\"2\"} 1"));
    CHECK(has_line(text, "agentlb_agent_failovers_total 3"));
    CHECK(has_line(text, "agentlb_agent_list_changed_timestamp_seconds 1764950000"));
    CHECK(has_line(text, "agentlb_agent_certificate_not_after_seconds 1796486400"));
    CHECK(has_line(text, "agentlb_agent_build_info{version=\"1.2.3\",openssl=\"3.0.11\"} 1"));
    CHECK(has_line(text, "agentlb_agent_last_write_timestamp_seconds 1764950123.250"));
    CHECK(has_line(text, "# TYPE agentlb_agent_failovers_total counter"));
    CHECK(promtool_complaints(text) == "");
}

TEST_CASE("metrics file: while not connected there is no server series") {
    AgentFigures figures = connected_figures();
    figures.connected = false;
    figures.certificate_not_after.reset();  // not loaded yet (enrolling)
    const std::string text = render_agent_metrics(figures);
    INFO(text);
    CHECK(has_line(text, "agentlb_agent_connected 0"));
    CHECK(text.find("agentlb_agent_server_info{") == std::string::npos);
    CHECK(text.find("\nagentlb_agent_certificate_not_after_seconds ") == std::string::npos);
    CHECK(has_line(text, "agentlb_agent_failovers_total 3"));
    CHECK(promtool_complaints(text) == "");
}

TEST_CASE("metrics file: label values are escaped") {
    AgentFigures figures = connected_figures();
    figures.server = "a\"b\\c\nd:1";
    const std::string text = render_agent_metrics(figures);
    INFO(text);
    CHECK(has_line(text, "agentlb_agent_server_info{server=\"a\\\"b\\\\c\\nd:1\",position=\"2\"} 1"));
    CHECK(promtool_complaints(text) == "");
}

TEST_CASE("metrics file: written whole, world-readable, replacing the previous one") {
    TempDir dir;
    const auto file = dir / "agentlb-agent.prom";
    REQUIRE(write_agent_metrics(file, {}).ok());
    AgentFigures figures = connected_figures();
    REQUIRE(write_agent_metrics(file, figures).ok());
    std::FILE* in = std::fopen(file.c_str(), "r");
    REQUIRE(in != nullptr);
    std::string content(8192, '\0');
    content.resize(std::fread(content.data(), 1, content.size(), in));
    std::fclose(in);
    CHECK(content == render_agent_metrics(figures));
    struct ::stat info {};
    REQUIRE(::stat(file.c_str(), &info) == 0);
    CHECK((info.st_mode & 07777) == 0644);
    // No temporary file is left beside it.
    int entries = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) {
        ++entries;
    }
    CHECK(entries == 1);
}

TEST_CASE("metrics file: a missing folder is an error naming the path") {
    TempDir dir;
    const auto file = dir / "no-such-folder" / "agentlb-agent.prom";
    auto written = write_agent_metrics(file, {});
    REQUIRE_FALSE(written.ok());
    CHECK_THAT(written.error(), Catch::Matchers::Contains(file.string()));
}

TEST_CASE("metrics file: figures_now fills in the versions and the time") {
    const auto before = static_cast<double>(std::time(nullptr));
    const AgentFigures figures = figures_now();
    CHECK_FALSE(figures.version.empty());
    CHECK(figures.openssl.rfind("3.", 0) == 0);
    CHECK(figures.written_at >= before);
    CHECK(figures.written_at < before + 60);
    CHECK_FALSE(figures.connected);
}
