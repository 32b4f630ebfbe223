#!/usr/bin/env bash
# A local agentlb cluster in one command: three management servers on
# 127.0.0.1, 127.0.0.2 and 127.0.0.3, six agents balanced with roundrobin,
# all state in one working folder. See README.md and docs/OPERATIONS.md.
#
#   tools/quickstart.sh [start]   install packages, build, start (or restart what is not running)
#   tools/quickstart.sh status    what runs, which agent is on which server, each agent's list
#   tools/quickstart.sh stop      end exactly the processes it started (by pid); keep the folder
#   tools/quickstart.sh restart msN
#                                 one server as systemd restarts it: SIGTERM, wait until it
#                                 exits (it hands its agents over first), start it again
#
#   AGENTLB_RUN=DIR         working folder (default: run/ in the source tree)
#   AGENTLB_BIN=DIR         use these built binaries; skip the package and build steps
#   AGENTLB_PORT_BASE=PORT  first of five ports (default 8250): PORT agents, PORT+1
#                           enrollment (on each server's address), PORT+2..PORT+4 admin HTTP
#   AGENTLB_STORE=KIND      sqlite (default: one file, run/agentlb.db) or postgresql (a local
#                           PostgreSQL in run/postgresql that start starts and stop stops)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly root
readonly servers=(ms1 ms2 ms3)
readonly agents=(kvm1 kvm2 kvm3 kvm4 kvm5 kvm6)
readonly start_timeout=30 # seconds, for each wait below
readonly stop_timeout=15

say() { printf '%s\n' "$*"; }
die() {
    printf 'quickstart: %s\n' "$*" >&2
    exit 1
}

usage() {
    sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# --- settings ---------------------------------------------------------------

command="${1:-start}"
case "$command" in
start | stop | status | restart) ;;
-h | --help | help)
    usage
    exit 0
    ;;
*)
    usage >&2
    exit 2
    ;;
esac
if [[ $command == restart ]]; then
    if (($# != 2)); then
        printf 'quickstart: restart takes one server name: ms1, ms2 or ms3\n' >&2
        exit 2
    elif [[ ! " ${servers[*]} " == *" $2 "* ]]; then
        printf "quickstart: restart takes one server name: ms1, ms2 or ms3, not '%s'\n" "$2" >&2
        exit 2
    fi
elif (($# > 1)); then
    usage >&2
    exit 2
fi

run="${AGENTLB_RUN:-$root/run}"
if [[ $command == start ]]; then
    mkdir -p "$run" || die "cannot create the working folder $run"
elif [[ ! -d $run ]]; then
    die "no quickstart folder $run${AGENTLB_RUN:+ (from AGENTLB_RUN)}; nothing to $command"
fi
run="$(cd "$run" && pwd)"
readonly run

recorded() { # KEY -> the value run/env recorded for it, if any
    [[ -f $run/env ]] || return 0
    sed -n "s/^AGENTLB_QUICKSTART_$1=//p" "$run/env"
}

# A cluster keeps the store it was made with.
recorded_store="$(recorded STORE)"
if [[ -z $recorded_store && -f $run/agentlb.db ]]; then
    recorded_store=sqlite # made before AGENTLB_STORE existed
fi
if [[ $command == start && -n $recorded_store && -n ${AGENTLB_STORE:-} && $recorded_store != "$AGENTLB_STORE" ]]; then
    die "$run was set up with AGENTLB_STORE=$recorded_store, not $AGENTLB_STORE: leave it unset, or use another AGENTLB_RUN"
fi
store_kind="${recorded_store:-${AGENTLB_STORE:-sqlite}}"
case "$store_kind" in
sqlite | postgresql) ;;
*) die "AGENTLB_STORE '$store_kind' must be sqlite or postgresql" ;;
esac
readonly store_kind

# PostgreSQL's folder. pg_local.sh runs PostgreSQL as `nobody` when the
# quickstart runs as root (PostgreSQL refuses root); when nobody cannot reach
# the working folder (a clone under /root), the cluster lives in /tmp and
# run/env remembers where.
pg_dir="$(recorded PG_DIR)"
if [[ -z $pg_dir ]]; then
    pg_dir="$run/postgresql"
    if [[ $store_kind == postgresql && $command == start && "$(id -u)" == 0 ]] &&
        ! runuser -u nobody -- test -x "$run" 2>/dev/null; then
        pg_dir="$(mktemp -d /tmp/agentlb-quickstart-pg.XXXXXX)" || die "cannot create a folder for PostgreSQL in /tmp"
    fi
fi
readonly pg_dir pgpass="$run/pgpass"
if [[ $store_kind == postgresql ]]; then
    # The password stays in run/pgpass (mode 0600), never on a command line
    # or in the location agentlbctl and the servers show.
    export PGPASSFILE="$pgpass"
fi
# PostgreSQL's location, once its folder records the port.
postgresql_location() {
    printf 'postgresql://agentlb@%s:%s/agentlb' "$(cat "$pg_dir/listen")" "$(cat "$pg_dir/port")"
}
db="$run/agentlb.db"
if [[ $store_kind == postgresql ]]; then
    db=""
    if [[ -f $pg_dir/port ]]; then
        db="$(postgresql_location)"
    fi
fi

# A cluster keeps the port block it was made with.
recorded_base="$(recorded PORT_BASE)"
if [[ $command == start && -n $recorded_base && -n ${AGENTLB_PORT_BASE:-} && $recorded_base != "$AGENTLB_PORT_BASE" ]]; then
    die "$run was set up with AGENTLB_PORT_BASE=$recorded_base, not $AGENTLB_PORT_BASE: leave it unset, or use another AGENTLB_RUN"
fi
port_base="${recorded_base:-${AGENTLB_PORT_BASE:-8250}}"
if ! [[ $port_base =~ ^[0-9]+$ ]] || ((10#$port_base < 1024 || 10#$port_base > 65531)); then
    die "AGENTLB_PORT_BASE '$port_base' must be a number from 1024 to 65531 (it uses five ports from there)"
fi
port_base=$((10#$port_base))

# Index 1..3 for ms1..ms3.
server_ip() { printf '127.0.0.%s' "${1#ms}"; }
agent_port() { printf '%s' "$port_base"; }
enroll_port() { printf '%s' $((port_base + 1)); }
admin_port() { printf '%s' $((port_base + 1 + ${1#ms})); }
server_address() { printf '%s:%s' "$(server_ip "$1")" "$(agent_port)"; }

host_value() {
    local out="" s
    for s in "${servers[@]}"; do
        out+="${out:+,}$(server_address "$s")"
    done
    printf '%s' "$out"
}

# Each process is known by one argument only it has on its command line.
marker() {
    case "$1" in
    ms*) printf '%s' "$run/$1" ;;
    *) printf '%s' "$run/agents/$1/agent.properties" ;;
    esac
}

# --- processes ----------------------------------------------------------------

# Succeeds when NAME's recorded pid is a live (not zombie) process whose
# command line holds NAME's marker: a pid reused by anything else never counts.
running() {
    local file="$run/pids/$1.pid" pid stat state arg want args=()
    [[ -f $file ]] || return 1
    pid="$(<"$file")"
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
    state="${stat##*) }"
    [[ ${state%% *} != Z ]] || return 1
    mapfile -d '' -t args 2>/dev/null <"/proc/$pid/cmdline" || return 1
    want="$(marker "$1")"
    for arg in "${args[@]}"; do
        [[ $arg == "$want" ]] && return 0
    done
    return 1
}

pid_of() { cat "$run/pids/$1.pid"; }

# Starts a daemon detached from this terminal (setsid execs it in place, so the
# recorded pid is the daemon itself), its output appended to logs/NAME.log.
launch() {
    local name="$1"
    shift
    setsid "$@" </dev/null >>"$run/logs/$name.log" 2>&1 9>&- &
    local pid=$! deadline=$((SECONDS + 5)) stat
    printf '%s\n' "$pid" >"$run/pids/$name.pid"
    started+=("$name")
    # Until the exec, the child is a copy of this shell: wait for the daemon's
    # own command line (or its end) so that `running` means what it says.
    while ! running "$name" && ((SECONDS < deadline)); do
        stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || break
        stat="${stat##*) }"
        [[ ${stat%% *} != Z ]] || break
        sleep 0.05
    done
}

log_tail() {
    say "--- last lines of $run/logs/$1.log:" >&2
    tail -n 15 "$run/logs/$1.log" >&2 || true
}

# stop_processes SECONDS NAME...: SIGTERM, then SIGKILL after SECONDS.
stop_processes() {
    local timeout="$1" name live=() left=() killed=() deadline
    shift
    for name in "$@"; do
        if running "$name"; then
            kill -TERM "$(pid_of "$name")" 2>/dev/null || true
            live+=("$name")
        fi
    done
    deadline=$((SECONDS + timeout))
    while :; do
        left=()
        for name in "${live[@]}"; do
            running "$name" && left+=("$name")
        done
        ((${#left[@]} == 0 || SECONDS >= deadline)) && break
        sleep 0.2
    done
    for name in "${left[@]}"; do
        say "quickstart: $name (pid $(pid_of "$name")) ignored SIGTERM for ${timeout}s: sending SIGKILL" >&2
        kill -KILL "$(pid_of "$name")" 2>/dev/null || true
    done
    deadline=$((SECONDS + 2))
    while ((${#left[@]} > 0 && SECONDS < deadline)); do
        sleep 0.1
        killed=("${left[@]}")
        left=()
        for name in "${killed[@]}"; do
            running "$name" && left+=("$name")
        done
    done
    for name in "$@"; do
        running "$name" || rm -f "$run/pids/$name.pid"
    done
    stopped_count=${#live[@]}
}

# --- PostgreSQL (AGENTLB_STORE=postgresql): start_postgresql, stop_postgresql
# shellcheck source=tools/quickstart_postgresql.sh
source "$root/tools/quickstart_postgresql.sh"

# --- restart msN: cmd_restart
# shellcheck source=tools/quickstart_restart.sh
source "$root/tools/quickstart_restart.sh"

# "the store FILE" or "PostgreSQL in DIR", for messages.
store_text() {
    if [[ $store_kind == postgresql ]]; then
        printf 'PostgreSQL in %s' "$pg_dir"
    else
        printf '%s' "$db"
    fi
}

# On a failed start, end what this run started, keep the logs.
started=()
pg_started=0
on_start_failure() {
    local code=$?
    if ((code != 0 && ${#started[@]} > 0)); then
        say "quickstart: start failed; stopping the ${#started[@]} processes it started (logs stay in $run/logs)" >&2
        stop_processes "$stop_timeout" "${started[@]}"
    fi
    if ((code != 0 && pg_started)); then
        say "quickstart: start failed; stopping PostgreSQL in $pg_dir (its data stays)" >&2
        stop_postgresql || true
    fi
}

# --- store and status -----------------------------------------------------------

ctl() { "$bin/agentlbctl" --db "$db" "$@"; }

# GET /healthz on the admin port, in this shell (nothing else needs installing).
healthz_ok() {
    local line="" fd
    { exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
    { printf 'GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&"$fd"; } 2>/dev/null || true
    IFS= read -r -t 2 line <&"$fd" || true
    exec {fd}>&-
    [[ $line == HTTP/1.?" 200"* ]]
}

# "NAME CONNECTED_TO" per registered host ("-" when not connected), read from
# `agentlbctl --json host list` (pretty-printed, one field per line).
host_connections() {
    ctl --json host list | awk '
        /"name":/ { v = $0; sub(/^[^:]*: *"/, "", v); sub(/",? *$/, "", v); name = v }
        /"connected_to":/ {
            v = $0; sub(/^[^:]*: */, "", v); sub(/,? *$/, "", v); gsub(/"/, "", v)
            conn = (v == "null") ? "-" : v
        }
        /^ *}/ { if (name != "") print name, conn; name = ""; conn = "-" }'
}

property() { # FILE KEY -> the last value of KEY
    [[ -f $1 ]] || return 0
    awk -v key="$2" 'index($0, key "=") == 1 { v = substr($0, length(key) + 2) } END { print v }' "$1"
}

print_status() {
    local name conn id list props
    ctl status || return 1
    declare -A connected=()
    while read -r name conn; do
        connected[$name]="$conn"
    done < <(host_connections)
    say ""
    say "agents (which server each is on, and the list it holds in its agent.properties)"
    printf '%-6s %-3s %-8s %-22s %s\n' AGENT ID PROCESS "CONNECTED TO" "LIST"
    for name in "${agents[@]}"; do
        props="$run/agents/$name/agent.properties"
        id="$(property "$props" id)"
        list="$(property "$props" host)"
        conn="${connected[$name]:--}"
        if [[ $conn != - ]]; then
            conn="$conn $(server_address "$conn" 2>/dev/null)"
        fi
        printf '%-6s %-3s %-8s %-22s %s\n' "$name" "${id:--}" \
            "$(running "$name" && printf 'pid%s' "$(pid_of "$name")" || printf 'stopped')" "$conn" "${list:--}"
    done
}

print_next_steps() {
    local rel="$run" qs
    if [[ $run == "$PWD"/* ]]; then
        rel="${run#"$PWD"/}"
    fi
    qs="$(quickstart_command)"
    cat <<EOF

Try next (first: source $rel/env   — it sets AGENTLB_DB$( [[ $store_kind == postgresql ]] && printf ', PGPASSFILE') and PATH for agentlbctl):
  agentlbctl config set host $(server_address ms3),$(server_address ms1),$(server_address ms2)
        every agent gets a new list within a second; see: $qs status
  kill \$(cat $rel/pids/ms2.pid); sleep 8; agentlbctl status
        ms2 is down, its agents (kvm2, kvm5) moved to the next server on their lists;
        $qs
        starts ms2 again (and anything else that is not running)
  agentlbctl config set indirect.agent.lb.check.interval 30
        agents not on their first (preferred) server go back to it within 30 s
  agentlbctl preview --algorithm shuffle
        what every host would get, without changing anything
  agentlbctl mgmt maintenance ms1 --wait; $qs restart ms1
  agentlbctl mgmt cancel-maintenance ms1 --rebalance
        ms1 restarted with none of its agents disconnected: one step of the
        rolling upgrade in docs/OPERATIONS.md
  curl -s http://127.0.0.1:$(admin_port ms1)/metrics     (ms2: port $(admin_port ms2), ms3: $(admin_port ms3))
Logs: $rel/logs/
Stop everything: $qs stop   (keeps $rel/ for inspection)
EOF
}

# --- commands ---------------------------------------------------------------------

# How to run this script again on the same cluster, for the hints it prints.
quickstart_command() {
    local script="$root/tools/quickstart.sh" prefix=""
    if [[ $script == "$PWD"/* ]]; then
        script="${script#"$PWD"/}"
    fi
    if [[ -n ${AGENTLB_RUN:-} ]]; then
        prefix+="AGENTLB_RUN=$run "
    fi
    if [[ -n ${bin:-} && $bin != "$root/build-release/bin" ]]; then
        prefix+="AGENTLB_BIN=$bin "
    fi
    printf '%s%s' "$prefix" "$script"
}

all_names() { printf '%s\n' "${servers[@]}" "${agents[@]}"; }

lock() {
    exec 9>"$run/.quickstart.lock"
    flock -n 9 || die "another quickstart.sh is working on $run; try again when it is done"
}

find_bin() {
    local recorded
    if [[ -n ${AGENTLB_BIN:-} ]]; then
        bin="$(cd "$AGENTLB_BIN" 2>/dev/null && pwd)" || die "AGENTLB_BIN '$AGENTLB_BIN' is not a folder"
    elif recorded="$(recorded BIN)" && [[ -n $recorded ]]; then
        bin="$recorded"
    else
        bin="$root/build-release/bin"
    fi
}

check_bin() {
    local b
    for b in agentlb-mgmt agentlb-agent agentlbctl; do
        [[ -x $bin/$b ]] || die "$bin/$b is missing or not executable${AGENTLB_BIN:+ (from AGENTLB_BIN)}"
    done
}

install_and_build() {
    local build="$root/build-release" generator=()
    say "== Debian packages"
    # shellcheck source=tools/deps.sh
    source "$root/tools/deps.sh"
    if [[ "$(id -u)" != 0 ]] && ! command -v sudo >/dev/null; then
        say "(not root and no sudo: missing packages cannot be installed; install them as root first)"
    fi
    agentlb_install_deps || die "installing the Debian packages failed (needs root or sudo, and the network for apt)"
    local log="$run/logs/build.log"
    say "== build (Release) in $build; compiler output in $log"
    [[ -f $build/CMakeCache.txt ]] || generator=(-G Ninja)
    mkdir -p "$run/logs"
    # Only the progress counter on the terminal; everything in the log.
    if ! {
        cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DAGENTLB_BUILD_TESTS=OFF &&
            cmake --build "$build" --parallel "$(nproc 2>/dev/null || echo 2)" \
                --target agentlb-mgmt agentlb-agent agentlbctl
    } 2>&1 | tee "$log" | awk '/^\[[0-9]+\/[0-9]+\]/ { printf "\r   %s", $1; fflush() } END { print "" }'; then
        tail -n 30 "$log" >&2
        die "the build failed; the whole output is in $log"
    fi
    bin="$build/bin"
}

# Refuses to start when something already listens where a server will bind
# (the exact address, or a wildcard on that port).
check_ports_free() {
    command -v ss >/dev/null || return 0
    local name ip port wanted=() listening
    for name in "$@"; do
        case "$name" in
        ms*)
            ip="$(server_ip "$name")"
            wanted+=("$ip:$(agent_port)" "$ip:$(enroll_port)" "127.0.0.1:$(admin_port "$name")")
            ;;
        esac
    done
    listening="$(ss -Hltn 2>/dev/null | awk '{ print $4 }')" || return 0
    for name in "${wanted[@]}"; do
        ip="${name%:*}"
        port="${name##*:}"
        if grep -qxF -e "$ip:$port" -e "0.0.0.0:$port" -e "*:$port" -e "[::]:$port" \
            -e "[::ffff:$ip]:$port" <<<"$listening"; then
            die "$ip:$port is already in use (another agentlb cluster?); stop it, or pick another block: AGENTLB_PORT_BASE=$((port_base + 100)) $(quickstart_command)"
        fi
    done
}

write_env_file() {
    cat >"$run/env" <<EOF
# Written by tools/quickstart.sh. Source it to use agentlbctl on this cluster.
export AGENTLB_DB=$(printf '%q' "$db")
export PATH=$(printf '%q' "$bin"):"\$PATH"
EOF
    if [[ $store_kind == postgresql ]]; then
        printf 'export PGPASSFILE=%q\n' "$pgpass" >>"$run/env"
    fi
    cat >>"$run/env" <<EOF
AGENTLB_QUICKSTART_BIN=$bin
AGENTLB_QUICKSTART_PORT_BASE=$port_base
AGENTLB_QUICKSTART_STORE=$store_kind
EOF
    if [[ $store_kind == postgresql ]]; then
        printf 'AGENTLB_QUICKSTART_PG_DIR=%s\n' "$pg_dir" >>"$run/env"
    fi
}

wait_for() { # DESCRIPTION NAME-TO-WATCH COMMAND... : polls COMMAND while NAME runs
    local what="$1" name="$2" deadline=$((SECONDS + start_timeout))
    shift 2
    until "$@"; do
        if ! running "$name"; then
            log_tail "$name"
            die "$name exited while waiting for $what"
        fi
        ((SECONDS < deadline)) || {
            log_tail "$name"
            die "$name: no $what after ${start_timeout}s"
        }
        sleep 0.2
    done
}

enrolled() { [[ -n "$(property "$run/agents/$1/agent.properties" id)" && -f $run/agents/$1/agent.crt ]]; }

# The servers' own counts (the AGENTS column of `agentlbctl status`) follow
# with their next heartbeat.
servers_counted() {
    local total
    total="$(ctl --json mgmt list | awk '/"agents":/ { v = $0; gsub(/[^0-9]/, "", v); sum += v } END { print sum + 0 }')"
    ((total == ${#agents[@]}))
}

all_connected() {
    local name conn count=0
    while read -r name conn; do
        [[ $conn != - ]] && count=$((count + 1))
    done < <(host_connections)
    ((count >= ${#agents[@]}))
}

start_server() {
    local s="$1"
    mkdir -p "$run/$s"
    launch "$s" "$bin/agentlb-mgmt" --name "$s" --db "$db" --ca-dir "$run/ca" --state-dir "$run/$s" \
        --listen "$(server_address "$s")" --enroll-listen "$(server_ip "$s"):$(enroll_port)" \
        --admin-listen "127.0.0.1:$(admin_port "$s")" --advertise "$(server_address "$s")"
}

start_agent() {
    local a="$1" dir="$run/agents/$1" enroll=() token fingerprint json
    mkdir -p "$dir"
    if [[ ! -f $dir/agent.crt ]]; then
        # One token per agent, made for its name, used once.
        json="$(ctl --json token create --name "$a" --ttl 600)" || die "agentlbctl token create failed"
        token="$(sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' <<<"$json")"
        fingerprint="$(sed -n 's/.*"ca_fingerprint": *"\([^"]*\)".*/\1/p' <<<"$json")"
        [[ -n $token && -n $fingerprint ]] || die "unexpected output from agentlbctl token create: $json"
        enroll=(--enroll-server "$(server_ip ms1):$(enroll_port)" --enroll-token="$token"
            --ca-fingerprint "$fingerprint")
    fi
    launch "$a" "$bin/agentlb-agent" --config "$dir/agent.properties" --name "$a" "${enroll[@]}"
}

cmd_start() {
    lock
    local name missing=() new_store=0
    while read -r name; do
        running "$name" || missing+=("$name")
    done < <(all_names)
    find_bin
    if ((${#missing[@]} == 0)) && { [[ $store_kind == sqlite ]] || postgresql_running; }; then
        say "agentlb quickstart is already running in $run (${#servers[@]} servers, ${#agents[@]} agents); nothing started."
        say ""
        check_bin
        print_status
        print_next_steps
        return 0
    fi

    if [[ -z ${AGENTLB_BIN:-} ]]; then
        install_and_build
    fi
    check_bin
    check_ports_free "${missing[@]}"
    mkdir -p "$run/logs" "$run/pids" "$run/agents"
    trap on_start_failure EXIT

    # PostgreSQL is set up before the CA: a start that failed in between
    # leaves it without one, and the next start finishes the job.
    if [[ $store_kind == postgresql ]]; then
        [[ -e $run/ca ]] || new_store=1
        ((new_store)) || postgresql_exists ||
            die "$run/ca exists but the store ($(store_text)) does not: remove $run to start afresh"
    else
        [[ -f $db ]] || new_store=1
        ((!new_store)) || [[ ! -e $run/ca ]] ||
            die "$run/ca exists but the store $db does not: remove $run to start afresh"
    fi
    if [[ $store_kind == postgresql ]]; then
        start_postgresql
    fi
    write_env_file
    if ((new_store)); then
        say "== new CA and store in $run"
        ctl ca init --ca-dir "$run/ca" >/dev/null || die "agentlbctl ca init failed"
    elif ((${#missing[@]} < ${#servers[@]} + ${#agents[@]})); then
        say "== restarting what is not running in $run: ${missing[*]}"
    else
        say "== starting the cluster kept in $run"
    fi
    # Once per folder: later changes made with agentlbctl are kept.
    if [[ ! -f $run/.configured ]]; then
        ctl config set host "$(host_value)" >/dev/null || die "agentlbctl config set host failed"
        ctl config set indirect.agent.lb.algorithm roundrobin >/dev/null ||
            die "agentlbctl config set indirect.agent.lb.algorithm failed"
        : >"$run/.configured"
    fi

    for name in "${servers[@]}"; do
        if ! running "$name"; then
            start_server "$name"
            wait_for "a healthy admin port" "$name" healthz_ok "$(admin_port "$name")"
            say "   $name up on $(server_address "$name") (enrollment :$(enroll_port), admin 127.0.0.1:$(admin_port "$name"))"
        fi
    done
    # One after another: ids are given in enrollment order, so the roundrobin
    # placement is the same on every run.
    for name in "${agents[@]}"; do
        if ! running "$name"; then
            start_agent "$name"
            wait_for "enrollment" "$name" enrolled "$name"
            say "   $name running (host id $(property "$run/agents/$name/agent.properties" id))"
        fi
    done
    local deadline=$((SECONDS + start_timeout))
    until all_connected; do
        ((SECONDS < deadline)) || {
            print_status >&2 || true
            die "not every agent connected within ${start_timeout}s; see $run/logs/"
        }
        sleep 0.2
    done
    deadline=$((SECONDS + 5))
    until servers_counted || ((SECONDS >= deadline)); do
        sleep 0.2
    done
    trap - EXIT

    say ""
    print_status
    print_next_steps
}

cmd_stop() {
    lock
    local names
    # Agents first: servers that stop first would only make them fail over.
    mapfile -t names < <(printf '%s\n' "${agents[@]}" "${servers[@]}")
    stop_processes "$stop_timeout" "${names[@]}"
    local postgresql=""
    if [[ $store_kind == postgresql ]] && stop_postgresql; then
        postgresql=" and PostgreSQL"
    fi
    if ((stopped_count == 0)) && [[ -z $postgresql ]]; then
        say "nothing running in $run"
    elif ((stopped_count == 0)); then
        say "stopped PostgreSQL; $run is kept (its data in $pg_dir)"
    else
        say "stopped $stopped_count processes$postgresql; $run is kept (logs in $run/logs, store $(store_text))"
    fi
}

cmd_status() {
    if [[ $store_kind == postgresql ]]; then
        postgresql_exists || die "no cluster in $run (no PostgreSQL in $pg_dir); start one with $(quickstart_command)"
        postgresql_running ||
            die "the cluster's PostgreSQL ($pg_dir) is stopped; start it and the cluster with $(quickstart_command)"
    fi
    [[ -n $db && ( $store_kind == postgresql || -f $db ) ]] ||
        die "no cluster in $run (no store $db); start one with $(quickstart_command)"
    find_bin
    check_bin
    print_status
}

"cmd_$command" "${@:2}"
