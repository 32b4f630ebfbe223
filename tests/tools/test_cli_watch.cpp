// agentlbctl status --watch, run as a process: it redraws every second and
// ends with exit 0 on SIGINT or SIGTERM.

#include "common/util/clock.hpp"
#include "tests/support/wait.hpp"
#include "tests/tools/ctl_fixture.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <sstream>

using namespace agentlb;
using namespace agentlb::test;

namespace {

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t count = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) {
        ++count;
    }
    return count;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

// A store with a CA and one server row, so each redraw has content to check.
void seed(const CtlFixture& f) {
    REQUIRE(f.ctl({"ca", "init", "--ca-dir", (f.dir / "ca").string()}).exit_code == 0);
    f.open()->register_server("ms1", "127.0.0.1:8250", util::unix_now());
}

}  // namespace

TEST_CASE("status --watch redraws every second and exits 0 on SIGINT") {
    CtlFixture f;
    seed(f);
    Process watch(
        {AGENTLBCTL_PATH, "status", "--watch", "--db", f.db}, f.dir / "watch.log", {{"AGENTLB_DB", ""}});
    const std::string header = "agentlbctl status --watch, every 1 s";
    REQUIRE(wait_until([&] { return count_of(watch.log(), header) >= 2; }, std::chrono::seconds(10)));
    const std::string seen = watch.log();
    // Piped, not a terminal: no escape sequence to clear the screen.
    CHECK(seen.find('\x1b') == std::string::npos);
    CHECK(count_of(seen, "\nservers\nNAME") >= 2);
    CHECK(count_of(seen, "ms1") >= 2);
    watch.kill(SIGINT);
    const auto code = watch.wait(std::chrono::seconds(5));
    REQUIRE(code.has_value());
    CHECK(*code == 0);
    CHECK(watch.log().find("agentlbctl: ") == std::string::npos);
}

TEST_CASE("status --watch --json writes one status object per line and exits 0 on SIGTERM") {
    CtlFixture f;
    seed(f);
    Process watch({AGENTLBCTL_PATH, "--json", "status", "--db", f.db, "--watch"},
                  f.dir / "watch.log",
                  {{"AGENTLB_DB", ""}});
    REQUIRE(wait_until([&] { return lines_of(watch.log()).size() >= 2; }, std::chrono::seconds(10)));
    watch.kill(SIGTERM);
    const auto code = watch.wait(std::chrono::seconds(5));
    REQUIRE(code.has_value());
    CHECK(*code == 0);
    const auto lines = lines_of(watch.log());
    REQUIRE(lines.size() >= 2);
    std::string previous_time;
    for (const std::string& line : lines) {
        const auto frame = nlohmann::json::parse(line);
        CHECK(frame["servers"][0]["name"] == "ms1");
        CHECK(frame["hosts"]["registered"] == 0);
        REQUIRE(frame["time"].is_string());
        // Redraws a second apart carry different times.
        CHECK(frame["time"].get<std::string>() != previous_time);
        previous_time = frame["time"].get<std::string>();
    }
}

TEST_CASE("status --watch on a missing store fails at once with exit 1") {
    CtlFixture f;
    const CommandResult result = f.ctl({"status", "--watch"});
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.err, Catch::Contains("no store at"));
}
