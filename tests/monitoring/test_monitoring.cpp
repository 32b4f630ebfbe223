// tools/monitoring/: the Grafana dashboard is valid JSON, and every PromQL
// expression of the dashboard and the alert rules parses (promtool) and names
// only metrics listed in metric-names.txt. The rules' own behaviour is tested
// by promtool test rules (CTest monitoring_rules_test).

#include "tests/monitoring/promql_names.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <regex>
#include <sstream>
#include <vector>

using namespace agentlb::test;

namespace {

const std::string kDir = AGENTLB_MONITORING_DIR;

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    REQUIRE(in.good());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void collect_exprs(const nlohmann::json& panels, std::vector<std::string>& out) {
    for (const auto& panel : panels) {
        if (panel.contains("panels")) {
            collect_exprs(panel["panels"], out);  // a collapsed row holds its panels
        }
        if (!panel.contains("targets")) {
            continue;
        }
        for (const auto& target : panel["targets"]) {
            out.push_back(target.at("expr").get<std::string>());
        }
    }
}

std::vector<std::string> dashboard_exprs() {
    const auto dashboard = nlohmann::json::parse(read_text(kDir + "/grafana-dashboard.json"));
    std::vector<std::string> exprs;
    collect_exprs(dashboard.at("panels"), exprs);
    return exprs;
}

// The rules file's expressions: `expr:` holds one line each in agentlb.rules.yml
// (a folded block would be refused here rather than read wrongly).
std::vector<std::string> rule_exprs() {
    std::istringstream lines(read_text(kDir + "/agentlb.rules.yml"));
    static const std::regex expr_line(R"(^\s*expr:\s*(.*?)\s*$)");
    std::vector<std::string> exprs;
    std::string line;
    while (std::getline(lines, line)) {
        std::smatch match;
        if (std::regex_match(line, match, expr_line)) {
            const std::string expr = match[1].str();
            INFO(line);
            REQUIRE(!expr.empty());
            REQUIRE(expr.front() != '|');
            REQUIRE(expr.front() != '>');
            exprs.push_back(expr);
        }
    }
    return exprs;
}

// Grafana's variables, replaced by what they stand for, so that promtool can parse.
std::string without_variables(std::string expr) {
    expr = std::regex_replace(expr, std::regex(R"(\$__rate_interval)"), "5m");
    return std::regex_replace(expr, std::regex(R"(\$\{?job\}?)"), "agentlb");
}

void check_names(const std::vector<std::string>& exprs) {
    const auto known = read_metric_names(kDir + "/metric-names.txt");
    for (const auto& expr : exprs) {
        const auto names = metric_names_in(expr);
        INFO(expr);
        CHECK_FALSE(names.empty());
        for (const auto& name : names) {
            INFO("metric " << name << " is not in tools/monitoring/metric-names.txt");
            CHECK(is_known_metric(known, name));
        }
    }
}

}  // namespace

TEST_CASE("monitoring: metric names are found in PromQL expressions") {
    using Names = std::set<std::string>;
    CHECK(
        metric_names_in(
            R"(histogram_quantile(0.99, sum by (le, kind) (rate(a_seconds_bucket{job="x",le!="1"}[5m]))))") ==
        Names{"a_seconds_bucket"});
    CHECK(metric_names_in("max(foo) - max(bar) > 0") == Names{"foo", "bar"});
    CHECK(metric_names_in("time() - x_seconds offset 5m > 1e3") == Names{"x_seconds"});
    CHECK(metric_names_in("a / on (instance) group_left (zone) b and c unless bool d") ==
          Names{"a", "b", "c", "d"});
    CHECK(metric_names_in(R"(absent(up{state="a{b}"}))") == Names{"up"});
    const std::map<std::string, std::string> known{{"h_seconds", "histogram"}, {"g", "gauge"}};
    CHECK(is_known_metric(known, "h_seconds_bucket"));
    CHECK(is_known_metric(known, "g"));
    CHECK_FALSE(is_known_metric(known, "g_sum"));
    CHECK_FALSE(is_known_metric(known, "other"));
}

TEST_CASE("monitoring: the dashboard is valid JSON with a query in every panel") {
    const auto dashboard = nlohmann::json::parse(read_text(kDir + "/grafana-dashboard.json"));
    CHECK(dashboard.at("title") == "agentlb");
    CHECK(dashboard.at("uid") == "agentlb");
    int panels = 0;
    for (const auto& panel : dashboard.at("panels")) {
        if (panel.at("type") == "row") {
            continue;
        }
        ++panels;
        INFO(panel.at("title"));
        CHECK(panel.at("targets").size() >= 1);
        CHECK(panel.at("datasource").at("uid") == "${datasource}");
    }
    CHECK(panels >= 20);
}

TEST_CASE("monitoring: the dashboard and the rules name only known metrics") {
    SECTION("dashboard") {
        check_names(dashboard_exprs());
    }
    SECTION("rules") {
        check_names(rule_exprs());
    }
}

TEST_CASE("monitoring: every alert the issue names is in the rules") {
    const std::string rules = read_text(kDir + "/agentlb.rules.yml");
    for (const char* alert : {"AgentlbServerDown",
                              "AgentlbAgentsNotConnected",
                              "AgentlbImbalance",
                              "AgentlbPushesUnacked",
                              "AgentlbCertificateExpiring",
                              "AgentlbStoreErrors",
                              "AgentlbAgentMetricsStale"}) {
        INFO(alert);
        CHECK(rules.find(std::string("alert: ") + alert + "\n") != std::string::npos);
    }
    for (const char* certificate : {"agents", "server", "ca", "agent"}) {
        INFO(certificate);
        CHECK(rules.find(std::string("certificate: ") + certificate + "\n") != std::string::npos);
    }
}

TEST_CASE("monitoring: every dashboard expression is valid PromQL (promtool)") {
    const auto exprs = dashboard_exprs();
    REQUIRE(!exprs.empty());
    // As recording rules, promtool check rules parses each with Prometheus' own parser.
    nlohmann::json rules;
    rules["groups"][0]["name"] = "dashboard";
    for (std::size_t i = 0; i < exprs.size(); ++i) {
        rules["groups"][0]["rules"][i] = {{"record", "dashboard:expr" + std::to_string(i)},
                                          {"expr", without_variables(exprs[i])}};
    }
    TempDir dir;
    const auto file = dir / "dashboard.rules.yml";  // JSON is YAML
    std::ofstream(file) << rules.dump(2);
    const auto checked = run_command({"/bin/sh", "-c", "promtool check rules \"$0\"", file.string()});
    INFO(checked.out << checked.err);
    if (checked.exit_code == 127) {
        FAIL("promtool not found: install the Debian package prometheus (tools/deps.sh)");
    }
    CHECK(checked.exit_code == 0);
    CHECK(checked.out.find("SUCCESS: " + std::to_string(exprs.size()) + " rules found") != std::string::npos);
}
