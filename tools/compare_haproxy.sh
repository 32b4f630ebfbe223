#!/usr/bin/env bash
# agentlb or a proxy (issue 18): the same simulated agents against the same
# three agentlb-mgmt servers, once through HAProxy (TCP passthrough, balance
# leastconn, health checks; the agents know only its address) and once with
# agentlb's own lists, each run by agentlb-bench's kill-return scenario:
# ping round trip in steady state, SIGKILL of the busiest server, time until
# every agent is connected again, spread after the failure and after the
# server is back. Loopback only; every run stops by itself (--timeout).
#
#   tools/compare_haproxy.sh [options]
#     --agents N            simulated agents (default 300)
#     --bin-dir DIR         where agentlb-bench and agentlb-mgmt are (default build/bin)
#     --work-dir DIR        bench work folder, reused across runs (default /dev/shm/agentlb-compare)
#     --steady-seconds S    steady state measured before the kill (default 20)
#     --return-seconds S    how long the killed server is back before the spread is read (default 90)
#     --timeout S           hard limit of each run (default 300)
#     --runs LIST           comma-separated, in order (default: all four):
#                             haproxy            through HAProxy; agentlb's rebalancer off
#                             agentlb            agentlb's lists, roundrobin, rebalancer off (defaults)
#                             agentlb-rebalance  roundrobin, agentlb.rebalance.behaviour=aggressive
#                             agentlb-hash       the hash algorithm, rebalancer aggressive
#
# stdout: one JSON line per run (agentlb-bench's, "mode" says which); stderr:
# each run's table. Exit 77 when HAProxy is missing and cannot be installed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
agents=300
bin_dir="$root/build/bin"
work_dir=/dev/shm/agentlb-compare
steady_seconds=20
return_seconds=90
timeout=300
runs=haproxy,agentlb,agentlb-rebalance,agentlb-hash

die() {
    printf 'compare_haproxy: %s\n' "$*" >&2
    exit 2
}

while (($# > 0)); do
    case "$1" in
    --agents | --bin-dir | --work-dir | --steady-seconds | --return-seconds | --timeout | --runs)
        (($# >= 2)) || die "$1 needs a value"
        value="$2"
        case "$1" in
        --agents) agents="$value" ;;
        --bin-dir) bin_dir="$value" ;;
        --work-dir) work_dir="$value" ;;
        --steady-seconds) steady_seconds="$value" ;;
        --return-seconds) return_seconds="$value" ;;
        --timeout) timeout="$value" ;;
        --runs) runs="$value" ;;
        esac
        shift 2
        ;;
    -h | --help)
        sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done

find_haproxy() {
    command -v haproxy 2>/dev/null || { [[ -x /usr/sbin/haproxy ]] && echo /usr/sbin/haproxy; } || true
}

haproxy_bin="$(find_haproxy)"
if [[ -z "$haproxy_bin" && ",$runs," == *,haproxy,* ]]; then
    printf 'compare_haproxy: installing Debian package haproxy\n' >&2
    sudo=()
    [[ "$(id -u)" == 0 ]] || sudo=(sudo -n)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy \
        >&2 || true
    haproxy_bin="$(find_haproxy)"
    if [[ -z "$haproxy_bin" ]]; then
        printf 'compare_haproxy: haproxy is not installed and cannot be installed here (apt-get install haproxy)\n' >&2
        exit 77
    fi
fi

bench="$bin_dir/agentlb-bench"
mgmt="$bin_dir/agentlb-mgmt"
[[ -x "$bench" && -x "$mgmt" ]] || die "no agentlb-bench and agentlb-mgmt in $bin_dir (build them, or give --bin-dir)"

# The same servers and agents in every run. Heartbeats every second (agents'
# pings, servers' liveness rows) so that steady state gives many round trips
# and a killed server's row is taken over within seconds when it restarts.
common=(
    --agents "$agents" --servers 3 --work-dir "$work_dir" --mgmt-bin "$mgmt"
    --steady-seconds "$steady_seconds" --return-seconds "$return_seconds"
    --failover-timeout 60 --timeout "$timeout" --resume-sample 0
    --mgmt-arg=--heartbeat-interval=1 --mgmt-arg=--server-heartbeat-interval=1
)

IFS=, read -r -a run_list <<<"$runs"
for run in "${run_list[@]}"; do
    printf 'compare_haproxy: run %s: %s agents, 3 servers\n' "$run" "$agents" >&2
    case "$run" in
    haproxy)
        # The proxy does the balancing: agentlb's rebalancer stays off.
        "$bench" "${common[@]}" --haproxy "$haproxy_bin" --set agentlb.rebalance.behaviour=off kill-return
        ;;
    agentlb)
        "$bench" "${common[@]}" --set agentlb.rebalance.behaviour=off kill-return
        ;;
    agentlb-rebalance)
        "$bench" "${common[@]}" --set agentlb.rebalance.behaviour=aggressive kill-return
        ;;
    agentlb-hash)
        "$bench" "${common[@]}" --algorithm hash --set agentlb.rebalance.behaviour=aggressive kill-return
        ;;
    *) die "unknown run '$run' (haproxy, agentlb, agentlb-rebalance, agentlb-hash)" ;;
    esac
done
