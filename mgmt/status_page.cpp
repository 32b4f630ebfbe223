#include "mgmt/status_page.hpp"

#include <string>

namespace agentlb::mgmt {

namespace {

// Every text from the server is set with textContent (never innerHTML):
// host names and details come from agents. The palette starts with
// kStatusChartFirstColour.
constexpr std::string_view kPage = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>agentlb status</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #222; background: #f4f5f7; }
header { background: #263238; color: #fff; padding: 10px 20px; display: flex; gap: 20px; align-items: baseline; }
header h1 { font-size: 18px; margin: 0; }
#updated { color: #b0bec5; font-size: 12px; }
#problem { color: #ffab91; font-weight: bold; }
main { padding: 12px 20px; display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
section { background: #fff; border: 1px solid #dde; border-radius: 4px; padding: 10px 14px; overflow: auto; }
section.wide { grid-column: 1 / 3; }
h2 { font-size: 15px; margin: 0 0 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
th { color: #555; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.state { padding: 1px 6px; border-radius: 3px; color: #fff; background: #78909c; }
.state-up { background: #2e7d32; }
.state-down { background: #c62828; }
.state-maintenance, .state-preparing { background: #ef6c00; }
.legend { display: flex; gap: 14px; flex-wrap: wrap; font-size: 12px; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; opacity: 0.5; }
#chart text { font-size: 11px; fill: #555; }
.empty { color: #888; font-style: italic; }
</style>
</head>
<body>
<header><h1>agentlb <span id="server-name"></span></h1><span id="updated">loading…</span>
<span id="problem"></span></header>
<main>
<section class="wide"><h2>Servers</h2>
<table id="servers"><thead><tr><th>name</th><th>address</th><th>state</th><th>agents</th>
<th>last heartbeat</th><th>started</th></tr></thead><tbody></tbody></table></section>
<section class="wide"><h2>Agents per server <span id="chart-span"></span></h2>
<svg id="chart" width="100%" height="240" viewBox="0 0 900 240" preserveAspectRatio="none"
 data-points="0"></svg>
<div class="legend" id="legend"></div></section>
<section><h2>Recent events</h2>
<table id="events"><thead><tr><th>time</th><th>event</th><th>who</th><th>reason</th><th>detail</th></tr>
</thead><tbody></tbody></table></section>
<section><h2>Configuration</h2><table id="config"><tbody></tbody></table></section>
</main>
<script>
"use strict";
const REFRESH_MS = @REFRESH_MS@;
const PALETTE = ["@FIRST_COLOUR@", "#0072b2", "#009e73", "#d55e00", "#56b4e9", "#7b1fa2", "#795548", "#455a64"];
const SVG = "http://www.w3.org/2000/svg";

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  return e;
}
function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}
function row(cells) {
  const tr = el("tr");
  for (const c of cells) tr.append(c instanceof Node ? c : el("td", c));
  return tr;
}
function stateBadge(state) {
  const td = el("td");
  td.append(el("span", state || "?", "state state-" + state));
  return td;
}
async function getJson(path) {
  const reply = await fetch(path, {cache: "no-store"});
  if (!reply.ok) throw new Error(path + ": HTTP " + reply.status);
  return reply.json();
}

function showServers(status) {
  document.getElementById("server-name").textContent = status.server.name;
  const rows = status.servers.map(s => {
    const tr = row([s.name, s.address, stateBadge(s.state), el("td", s.agents, "num"),
                    s.last_heartbeat, s.started_at]);
    tr.dataset.server = s.name;
    return tr;
  });
  fill(document.querySelector("#servers tbody"), rows);
}

function showChart(history) {
  const chart = document.getElementById("chart");
  const W = 900, H = 240, left = 40, right = 10, top = 10, bottom = 24;
  const samples = history.samples;
  const names = history.servers;
  const nodes = [];
  let points = 0;
  const tEnd = samples.length ? samples[samples.length - 1].time_ms : Date.now();
  const tStart = samples.length ? Math.max(samples[0].time_ms, tEnd - 3600e3) : tEnd - 3600e3;
  const span = Math.max(tEnd - tStart, 1);
  let max = 1;
  for (const s of samples) for (const n in s.servers) max = Math.max(max, s.servers[n].agents);
  const x = t => left + (W - left - right) * (t - tStart) / span;
  const y = v => top + (H - top - bottom) * (1 - v / max);
  for (const v of [0, max]) {
    nodes.push(svg("line", {x1: left, x2: W - right, y1: y(v), y2: y(v), stroke: "#ddd"}));
    const label = svg("text", {x: left - 6, y: y(v) + 4, "text-anchor": "end"});
    label.textContent = v;
    nodes.push(label);
  }
  for (const [at, t] of [["start", tStart], ["end", tEnd]]) {
    const label = svg("text", {x: x(t), y: H - 6, "text-anchor": at});
    label.textContent = new Date(t).toLocaleTimeString();
    nodes.push(label);
  }
  const legend = [];
  names.forEach((name, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const coords = samples.filter(s => name in s.servers && s.time_ms >= tStart)
                          .map(s => [x(s.time_ms), y(s.servers[name].agents)]);
    if (!coords.length) return;
    points += coords.length;
    const line = svg("polyline", {points: coords.map(c => c.join(",")).join(" "), fill: "none",
                                  stroke: colour, "stroke-width": 3, "data-server": name,
                                  "data-points": coords.length});
    nodes.push(line);
    const last = coords[coords.length - 1];
    nodes.push(svg("circle", {cx: last[0], cy: last[1], r: 5, fill: colour}));
    const item = el("span");
    const swatch = el("span", undefined, "swatch");
    swatch.style.background = colour;
    item.append(swatch, name + ": " + samples[samples.length - 1].servers[name]?.agents);
    legend.push(item);
  });
  chart.replaceChildren(...nodes);
  chart.setAttribute("data-points", points);
  document.getElementById("legend").replaceChildren(...legend);
  document.getElementById("chart-span").textContent =
    samples.length ? "(since " + new Date(tStart).toLocaleTimeString() + ", every " +
                     history.period_ms / 1000 + " s)" : "(no sample yet)";
}

function showEvents(events) {
  const rows = events.events.map(e =>
    row([e.time.replace("T", " ").replace("Z", ""), e.kind, e.host || e.peer, e.reason, e.detail]));
  if (!rows.length) rows.push(row([el("td", "no event yet", "empty")]));
  fill(document.querySelector("#events tbody"), rows);
}

function showConfig(config) {
  const rows = [];
  for (const [k, v] of Object.entries(config.server)) rows.push(row(["--" + k.replaceAll("_", "-"), v]));
  rows.push(row([el("th", "stored (generation " + config.generation + ")"), ""]));
  for (const [k, v] of Object.entries(config.global)) rows.push(row([k, v]));
  for (const s of config.scopes)
    for (const [k, v] of Object.entries(s.values)) rows.push(row([k + " (" + s.scope + ")", v]));
  fill(document.querySelector("#config tbody"), rows);
}

async function refresh() {
  try {
    const [status, history, events, config] = await Promise.all(
      ["/v1/status", "/v1/history", "/v1/events", "/v1/config"].map(getJson));
    showServers(status);
    showChart(history);
    showEvents(events);
    showConfig(config);
    document.getElementById("problem").textContent = "";
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    // Keep what is shown; say it is stale.
    document.getElementById("problem").textContent = "cannot refresh: " + e.message;
  }
}
refresh();
setInterval(refresh, REFRESH_MS);
</script>
</body>
</html>
)html";

std::string make_page() {
    std::string page(kPage);
    auto replace = [&page](std::string_view key, std::string_view value) {
        page.replace(page.find(key), key.size(), value);
    };
    replace("@REFRESH_MS@", std::to_string(kStatusPageRefreshSeconds * 1000));
    replace("@FIRST_COLOUR@", kStatusChartFirstColour);
    return page;
}

}  // namespace

std::string_view status_page_html() {
    static const std::string page = make_page();
    return page;
}

}  // namespace agentlb::mgmt
