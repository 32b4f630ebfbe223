// GET / on the admin port: the status page, rendered by a real headless
// Chromium (Debian's `chromium`) against two real servers with agents: its
// DOM must name the servers and hold chart points, and its screenshot must
// show the chart's first line colour.

#include "mgmt/status_page.hpp"

#include "tests/mgmt/integration_helpers.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <fstream>
#include <regex>
#include <sstream>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string> kFastHistory = {"--history-sample-ms", "200"};

// The program's path on $PATH ("" when absent): run_command does not search $PATH.
std::string program_path(const std::string& name) {
    auto found = run_command({"/bin/sh", "-c", "command -v \"$0\"", name});
    if (found.exit_code != 0) {
        return {};
    }
    while (!found.out.empty() && found.out.back() == '\n') {
        found.out.pop_back();
    }
    return found.out;
}

// Headless Chromium on `url` with `extra` flags; virtual time lets the
// page's first refresh (four fetches) finish before the DOM or the
// screenshot is taken.
CommandResult run_chromium(const TempDir& dir,
                           const std::string& url,
                           const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {program_path("chromium"),
                                     "--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--disable-dev-shm-usage",
                                     "--no-first-run",
                                     "--user-data-dir=" + (dir / "chromium").string(),
                                     "--virtual-time-budget=4000",
                                     "--window-size=1000,760"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(url);
    return run_command(argv, 60s, {{"HOME", dir.path().string()}});
}

// The number in `data-points="N"` of the chart's <svg>, -1 when absent.
long chart_points(const std::string& dom) {
    std::smatch match;
    if (std::regex_search(dom, match, std::regex(R"re(<svg id="chart"[^>]*data-points="(\d+)")re"))) {
        return std::stol(match[1]);
    }
    return -1;
}

bool history_has_points(const MgmtServer& server, const std::string& name, std::int64_t agents) {
    const auto reply = http_get(server.admin_port(), "/v1/history");
    if (reply.status != 200) {
        return false;
    }
    const auto samples = nlohmann::json::parse(reply.body)["samples"];
    int matching = 0;
    for (const auto& sample : samples) {
        const auto& servers = sample["servers"];
        matching += servers.contains(name) && servers[name]["agents"] == agents ? 1 : 0;
    }
    return matching >= 3;
}

}  // namespace

TEST_CASE("the status page is one self-contained HTML page with its JSON beside it") {
    CaFixture fixture;
    MgmtServer m1(fixture, "M1", kFastHistory);
    const auto page = http_get(m1.admin_port(), "/");
    REQUIRE(page.status == 200);
    CHECK_THAT(page.body, Catch::StartsWith("<!DOCTYPE html>"));
    // Nothing is loaded from elsewhere: no src/href, no CSS url() or @import.
    CHECK_FALSE(std::regex_search(page.body, std::regex(R"((src|href)\s*=|url\(|@import)")));
    CHECK(page.body.find(std::string(mgmt::kStatusChartFirstColour)) != std::string::npos);

    const auto config = nlohmann::json::parse(http_get(m1.admin_port(), "/v1/config").body);
    CHECK(config["server"]["name"] == "M1");
    CHECK(config["server"]["history_sample_ms"] == 200);
    CHECK(config["global"].is_object());
    const auto events = nlohmann::json::parse(http_get(m1.admin_port(), "/v1/events").body);
    CHECK(events["capacity"].get<int>() > 0);
    // Its own start is the first event.
    CHECK(wait_until(
        [&] {
            const auto now = nlohmann::json::parse(http_get(m1.admin_port(), "/v1/events").body);
            return !now["events"].empty() && now["events"].back()["kind"] == "server.up";
        },
        3s));

    // A connection without a client certificate is refused: listed, newest first.
    tls_probe(m1.port(), TlsProbeOptions{});
    CHECK(wait_until(
        [&] {
            const auto now = nlohmann::json::parse(http_get(m1.admin_port(), "/v1/events").body);
            return !now["events"].empty() && now["events"].front()["kind"] == "agent.refused" &&
                   now["events"].front()["reason"] == "no_certificate";
        },
        3s));
}

TEST_CASE("headless Chromium renders the servers, a chart with data and the events") {
    if (program_path("chromium").empty()) {
        std::printf("AGENTLB_TEST_SKIPPED: status page: chromium is not installed (Debian: chromium)\n");
        return;
    }
    CaFixture fixture;
    MgmtServer m1(fixture, "M1", kFastHistory);
    MgmtServer m2(fixture, "M2", kFastHistory);
    fixture.set_config("host", lb::join_host_list({m1.address(), m2.address()}));
    std::vector<std::unique_ptr<TestAgent>> agents;
    REQUIRE(wait_synced(fixture, m1));
    REQUIRE(wait_synced(fixture, m2));
    for (const char* name : {"h1", "h2", "h3"}) {
        agents.push_back(connect_agent(fixture, fixture.enroll(name), m1));
    }
    auto leaving = connect_agent(fixture, fixture.enroll("h4"), m2);
    REQUIRE(wait_until([&] { return history_has_points(m1, "M1", 3); }, 5s));
    // M2's count reaches M1 through M2's heartbeat and M1's liveness read.
    REQUIRE(wait_until([&] { return history_has_points(m1, "M2", 1); }, 10s));
    leaving->close();  // an agent.disconnected event on M2, shown by M2's page
    REQUIRE(wait_until(
        [&] {
            return http_get(m2.admin_port(), "/v1/events").body.find("agent.disconnected") !=
                   std::string::npos;
        },
        3s));

    TempDir dir;
    const auto url = "http://127.0.0.1:" + std::to_string(m1.admin_port()) + "/";
    const auto dom = run_chromium(dir, url, {"--dump-dom"});
    INFO("chromium stderr: " << dom.err);
    REQUIRE(dom.exit_code == 0);
    INFO("DOM: " << dom.out);
    CHECK(dom.out.find("<tr data-server=\"M1\">") != std::string::npos);
    CHECK(dom.out.find("<tr data-server=\"M2\">") != std::string::npos);
    CHECK(dom.out.find("<span id=\"problem\"></span>") != std::string::npos);  // every fetch answered
    CHECK(dom.out.find("<span id=\"updated\">updated ") != std::string::npos);
    CHECK(chart_points(dom.out) >= 3);
    CHECK(std::regex_search(dom.out, std::regex(R"re(<polyline[^>]*data-server="M1")re")));
    CHECK(dom.out.find("--advertise") != std::string::npos);  // the configuration
    CHECK(dom.out.find("server.up") != std::string::npos);    // the events

    const auto m2_dom =
        run_chromium(dir, "http://127.0.0.1:" + std::to_string(m2.admin_port()) + "/", {"--dump-dom"});
    REQUIRE(m2_dom.exit_code == 0);
    CHECK(m2_dom.out.find("agent.disconnected") != std::string::npos);

    const auto png = dir / "page.png";
    const auto shot = run_chromium(dir, url, {"--hide-scrollbars", "--screenshot=" + png.string()});
    INFO("chromium stderr: " << shot.err);
    REQUIRE(shot.exit_code == 0);
    REQUIRE(std::filesystem::exists(png));
    const auto counted = run_command({program_path("python3"),
                                      AGENTLB_PNG_COLOUR_SCRIPT,
                                      png.string(),
                                      std::string(mgmt::kStatusChartFirstColour),
                                      "6"},
                                     30s);
    INFO("png_colour_count: " << counted.out << counted.err);
    REQUIRE(counted.exit_code == 0);
    std::istringstream words(counted.out);
    long width = 0;
    long height = 0;
    long pixels = 0;
    words >> width >> height >> pixels;
    CHECK(width == 1000);
    CHECK(height == 760);
    // A 3-pixel line across the chart and the last point's dot: well over 100 pixels.
    CHECK(pixels >= 100);
}
