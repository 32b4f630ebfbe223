// The issue-18 families of /metrics without a server: process_*, build info,
// handshake durations, sessions ended by reason, failovers, the store's
// operation timings and the exporter's cluster series; and that the whole
// text passes `promtool check metrics`.

#include "common/store/store.hpp"
#include "common/util/atomic_file.hpp"
#include "mgmt/event_log.hpp"
#include "mgmt/failover_watch.hpp"
#include "mgmt/metrics.hpp"
#include "mgmt/process_metrics.hpp"
#include "mgmt/session_end_reason.hpp"
#include "mgmt/store_timings.hpp"
#include "mgmt/store_worker.hpp"
#include "mgmt/zone_metrics.hpp"
#include "tests/support/net_probe.hpp"
#include "tests/support/process.hpp"
#include "tests/support/store_away.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <ctime>

using namespace agentlb;
using namespace agentlb::mgmt;
using namespace std::chrono_literals;
using agentlb::test::metric_value;
using protocol::CloseReason;

namespace {

store::ServerRecord server(std::string name, std::string_view state) {
    store::ServerRecord row;
    row.name = std::move(name);
    row.state = std::string(state);
    return row;
}

}  // namespace

TEST_CASE("process stat: the fields after a command holding spaces and parentheses") {
    // pid (comm) state ppid ... utime(14) stime(15) ... starttime(22) vsize(23) rss(24) ...
    const std::string stat =
        "4242 (agent (lb) x) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 150 0 0 20 0 9 0 12000 "
        "104857600 2560 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0";
    const auto sample = parse_proc_stat(stat, 100, 4096, 1'700'000'000);
    REQUIRE(sample);
    CHECK(sample->cpu_seconds == Approx(4.0));
    CHECK(sample->start_time_seconds == Approx(1'700'000'120.0));
    CHECK(sample->virtual_bytes == 104857600.0);
    CHECK(sample->resident_bytes == 2560.0 * 4096);

    CHECK_FALSE(parse_proc_stat("not a stat line", 100, 4096, 0));
    CHECK_FALSE(parse_proc_stat("1 (x) S 1 2 3", 100, 4096, 0));  // too short
    CHECK_FALSE(parse_proc_stat(stat, 0, 4096, 0));
}

TEST_CASE("process series of this process are sane") {
    const auto sample = sample_this_process();
    REQUIRE(sample);
    CHECK(sample->open_fds >= 3);
    CHECK(sample->resident_bytes > 0);
    CHECK(sample->virtual_bytes >= sample->resident_bytes);
    const auto now = static_cast<double>(std::time(nullptr));
    CHECK(sample->start_time_seconds <= now + 1);
    CHECK(sample->start_time_seconds > now - 3600);
    const auto text = render_process_series(*sample);
    CHECK(metric_value(text, "process_open_fds") == sample->open_fds);
    CHECK(metric_value(text, "process_resident_memory_bytes") == sample->resident_bytes);
    CHECK_THAT(text, Catch::Contains("# TYPE process_cpu_seconds_total counter"));
    if (sample->max_fds) {
        CHECK(metric_value(text, "process_max_fds") == *sample->max_fds);
    }
}

TEST_CASE("build info names the version and OpenSSL, escaped") {
    CHECK(metric_value(render_build_info("1.2.3", "3.0.11"),
                       "agentlb_build_info{version=\"1.2.3\",openssl=\"3.0.11\"}") == 1.0);
    CHECK_THAT(render_build_info("a\"b", "x"), Catch::Contains("version=\"a\\\"b\""));
    CHECK_THAT(render_build_info(), Catch::Contains("openssl=\"3."));
}

TEST_CASE("sessions end under the reason an operator acts on") {
    CHECK(session_end_reason(CloseReason::peer_closed, false) == SessionEndReason::agent_closed);
    CHECK(session_end_reason(CloseReason::read_failed, false) == SessionEndReason::agent_closed);
    CHECK(session_end_reason(CloseReason::peer_closed, true) == SessionEndReason::migrated);
    CHECK(session_end_reason(CloseReason::superseded, true) == SessionEndReason::superseded);
    CHECK(session_end_reason(CloseReason::silence, false) == SessionEndReason::liveness_timeout);
    CHECK(session_end_reason(CloseReason::write_blocked, false) == SessionEndReason::slow_agent);
    CHECK(session_end_reason(CloseReason::slow_reader, false) == SessionEndReason::slow_agent);
    CHECK(session_end_reason(CloseReason::bad_input, false) == SessionEndReason::protocol_error);
    CHECK(session_end_reason(CloseReason::unexpected_message, false) == SessionEndReason::protocol_error);
    CHECK(session_end_reason(CloseReason::revoked, false) == SessionEndReason::revoked);
    CHECK(session_end_reason(CloseReason::drained, false) == SessionEndReason::drained);
    CHECK(session_end_reason(CloseReason::stopped, true) == SessionEndReason::shutdown);
    CHECK(session_end_reason(CloseReason::write_failed, false) == SessionEndReason::write_failed);
    CHECK(session_end_reason(CloseReason::internal, false) == SessionEndReason::internal);
    // Refusals before welcome are agentlb_handshakes_total's.
    CHECK_FALSE(session_end_reason(CloseReason::unknown_host, false));
    CHECK_FALSE(session_end_reason(CloseReason::handshake_failed, false));
    CHECK_FALSE(session_end_reason(CloseReason::draining, false));

    Metrics metrics;
    metrics.count_session_end(SessionEndReason::liveness_timeout);
    metrics.count_session_end(SessionEndReason::liveness_timeout);
    metrics.count_session_end(SessionEndReason::migrated);
    const auto text = metrics.render();
    CHECK(metric_value(text, "agentlb_sessions_ended_total{reason=\"liveness_timeout\"}") == 2.0);
    CHECK(metric_value(text, "agentlb_sessions_ended_total{reason=\"migrated\"}") == 1.0);
    // Every reason is always shown, so rate() sees it from the start.
    for (const auto reason : kSessionEndReasonTexts) {
        CHECK(metric_value(text, "agentlb_sessions_ended_total{reason=\"" + std::string(reason) + "\"}"));
    }
    CHECK(metric_value(text, "agentlb_sessions_ended_total") == 3.0);
}

TEST_CASE("handshake durations form one histogram family labelled by kind") {
    Metrics metrics;
    metrics.observe_handshake(HandshakeKind::full, 0.004);
    metrics.observe_handshake(HandshakeKind::full, 0.2);
    metrics.observe_handshake(HandshakeKind::resumed, 0.0005);
    const auto text = metrics.render();
    CHECK(metric_value(text, "agentlb_handshake_duration_seconds_count{kind=\"full\"}") == 2.0);
    CHECK(metric_value(text, "agentlb_handshake_duration_seconds_count{kind=\"resumed\"}") == 1.0);
    CHECK(metric_value(text, "agentlb_handshake_duration_seconds_bucket{kind=\"full\",le=\"0.005\"}") == 1.0);
    CHECK(metric_value(text, "agentlb_handshake_duration_seconds_bucket{kind=\"full\",le=\"+Inf\"}") == 2.0);
    CHECK(metric_value(text, "agentlb_handshake_duration_seconds_sum{kind=\"full\"}") == Approx(0.204));
    CHECK(metric_value(text, "agentlb_handshake_duration_seconds_bucket{kind=\"resumed\",le=\"0.001\"}") ==
          1.0);
    // HELP and TYPE once for the family.
    const auto first = text.find("# TYPE agentlb_handshake_duration_seconds histogram");
    REQUIRE(first != std::string::npos);
    CHECK(text.find("# TYPE agentlb_handshake_duration_seconds histogram", first + 1) == std::string::npos);
    // The unlabelled histogram is unchanged.
    CHECK_THAT(text, Catch::Contains("agentlb_push_latency_seconds_bucket{le=\"0.001\"} 0\n"));
    CHECK_THAT(text, Catch::Contains("agentlb_push_latency_seconds_count 0\n"));
}

TEST_CASE("failovers: an arrival from a down server counts at once, from an up one once it is judged down") {
    const auto t0 = FailoverWatch::Clock::now();
    FailoverWatch watch;
    const std::vector<store::ServerRecord> all_up{server("ms1", store::kServerUp),
                                                  server("ms2", store::kServerUp)};
    CHECK(watch.arrived("h1", "ms9", all_up, t0));  // no row: removed after it died
    CHECK(watch.arrived("h2", "ms1", {server("ms1", store::kServerDown)}, t0));
    CHECK_FALSE(watch.arrived("h3", "ms1", {server("ms1", store::kServerMaintenance)}, t0));  // a drain: a move
    CHECK(watch.waiting() == 0);

    CHECK_FALSE(watch.arrived("h4", "ms1", all_up, t0));
    CHECK_FALSE(watch.arrived("h5", "ms1", all_up, t0));
    CHECK_FALSE(watch.arrived("h6", "ms2", all_up, t0));
    CHECK(watch.waiting() == 3);
    CHECK(watch.settle(all_up, t0 + 1s, 10s).empty());
    CHECK(watch.waiting() == 3);
    // ms1 crashed and is judged down: its two agents failed over.
    const std::vector<store::ServerRecord> ms1_down{server("ms1", store::kServerDown),
                                                    server("ms2", store::kServerUp)};
    const auto settled = watch.settle(ms1_down, t0 + 5s, 10s);
    REQUIRE(settled.size() == 2);
    CHECK(settled[0].host == "h4");
    CHECK(settled[0].previous == "ms1");
    CHECK(settled[1].host == "h5");
    CHECK(watch.waiting() == 1);
    // ms2 stayed up past the window: that agent moved; never counted.
    CHECK(watch.settle(ms1_down, t0 + 11s, 10s).empty());
    CHECK(watch.waiting() == 0);
    CHECK(watch.settle({server("ms2", store::kServerDown)}, t0 + 12s, 10s).empty());
}

TEST_CASE("failovers: the status page's event names the host and the server it came from") {
    const auto event = failover_event(1700000000, "kvm1", "ms1");
    CHECK(event.kind == "agent.failover");
    CHECK(event.host == "kvm1");
    CHECK(event.peer == "ms1");
    CHECK(event.reason == "server_down");
    CHECK(event.detail == "arrived here from ms1, which is down");
    CHECK(event.time == 1700000000);
}

TEST_CASE("the store's operations are timed by name, errors counted") {
    StoreTimings timings;
    CHECK(timings.render().empty());
    timings.observe("list_servers", 0.002, false);
    timings.observe("list_servers", 0.02, true);
    timings.observe("generation", 0.0001, false);
    const auto text = timings.render();
    CHECK(metric_value(text, "agentlb_store_operation_duration_seconds_count{operation=\"list_servers\"}") ==
          2.0);
    CHECK(metric_value(
              text,
              "agentlb_store_operation_duration_seconds_bucket{operation=\"list_servers\",le=\"0.0025\"}") ==
          1.0);
    CHECK(metric_value(text, "agentlb_store_errors_total{operation=\"list_servers\"}") == 1.0);
    CHECK(metric_value(text, "agentlb_store_errors_total{operation=\"generation\"}") == 0.0);
    CHECK(timings.calls("generation") == 1);
    CHECK(timings.errors("list_servers") == 1);
    CHECK(timings.calls("missing") == 0);
}

TEST_CASE("every call through the StoreWorker is timed and a failed one counts as an error") {
    test::TempDir dir;
    const auto path = (dir / "s.db").string();
    StoreWorker worker;
    worker.open([path] { return store::open_sqlite_store(path, store::OpenMode::create); });
    worker.call_sync([](store::Store& s) { return s.generation(); });
    worker.call_sync([](store::Store& s) { return s.generation(); });
    worker.call_sync([](store::Store& s) { (void)s.set_config("host", "a,b"); });
    CHECK(worker.timings().calls("generation") == 2);
    CHECK(worker.timings().calls("set_config") == 1);
    CHECK(worker.timings().errors("generation") == 0);

    // The tables renamed away (as a stopped database): the read fails at once.
    test::StoreAway away(path);
    CHECK_THROWS_AS(worker.call_sync([](store::Store& s) { return s.list_servers(); }), store::StoreError);
    CHECK(worker.timings().calls("list_servers") == 1);
    CHECK(worker.timings().errors("list_servers") == 1);
    away.restore();
    worker.call_sync([](store::Store& s) { return s.list_servers(); });
    CHECK(worker.timings().calls("list_servers") == 2);
    CHECK(worker.timings().errors("list_servers") == 1);
}

TEST_CASE("cluster series: servers by state, hosts registered and connected (not to a down server)") {
    const std::vector<store::ServerRecord> servers{server("ms1", store::kServerUp),
                                                   server("ms2", store::kServerUp),
                                                   server("ms3", store::kServerDown),
                                                   server("ms4", store::kServerMaintenance),
                                                   server("ms5", "strange")};
    const std::vector<store::ConnectedCount> counts{
        {"east", "ms1", 4}, {"west", "ms1", 1}, {"east", "ms2", 3}, {"east", "ms3", 2}};
    const auto text = render_cluster_series(servers, counts, 12);
    CHECK(metric_value(text, "agentlb_cluster_servers{state=\"up\"}") == 2.0);
    CHECK(metric_value(text, "agentlb_cluster_servers{state=\"preparing\"}") == 0.0);
    CHECK(metric_value(text, "agentlb_cluster_servers{state=\"maintenance\"}") == 1.0);
    CHECK(metric_value(text, "agentlb_cluster_servers{state=\"down\"}") == 2.0);
    CHECK(metric_value(text, "agentlb_hosts_registered") == 12.0);
    CHECK(metric_value(text, "agentlb_hosts_connected") == 8.0);
}

TEST_CASE("every new family together passes promtool check metrics") {
    const auto found = test::run_command({"/bin/sh", "-c", "command -v promtool"});
    if (found.exit_code != 0) {
        std::printf(
            "AGENTLB_TEST_SKIPPED: promtool check metrics: promtool is not installed (Debian: prometheus)\n");
        return;
    }
    Metrics metrics;
    metrics.observe_handshake(HandshakeKind::full, 0.01);
    metrics.count_session_end(SessionEndReason::agent_closed);
    metrics.failovers_observed = 2;
    StoreTimings timings;
    timings.observe("generation", 0.001, false);
    timings.observe("list_servers", 0.5, true);
    const auto process = sample_this_process();
    REQUIRE(process);
    const auto text = render_build_info() + render_process_series(*process) + metrics.render() +
                      timings.render() +
                      render_cluster_series({server("ms1", store::kServerUp)}, {{"default", "ms1", 1}}, 1);
    test::TempDir dir;
    const auto file = (dir / "metrics.txt").string();
    REQUIRE(util::write_file_atomically(file, text).ok());
    const auto checked = test::run_command({"/bin/sh", "-c", "promtool check metrics < \"$0\"", file});
    INFO(text << "\n" << checked.out << checked.err);
    CHECK(checked.exit_code == 0);
    CHECK(checked.out + checked.err == "");
}
