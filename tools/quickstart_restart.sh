# `tools/quickstart.sh restart msN`, sourced by tools/quickstart.sh: one
# server restarted as systemd's `systemctl restart agentlb-mgmt@msN` does it:
# SIGTERM, wait for the process to exit (its SIGTERM drain included), start it
# again with the same command line. It uses that script's run, servers, lock,
# find_bin, check_bin, running, pid_of, stop_processes, start_server, wait_for,
# healthz_ok, on_start_failure and ctl.

# As long as the units' TimeoutStopSec: a SIGTERM drain takes at most
# agentlb.shutdown.timeout (60 s by default), then the server exits by itself.
readonly restart_stop_timeout=90

cmd_restart() {
    local name="$1" old=""
    lock
    if [[ $store_kind == postgresql ]] && ! postgresql_running; then
        die "the cluster's PostgreSQL ($pg_dir) is stopped; start it and the cluster with $(quickstart_command)"
    fi
    [[ -n $db && ($store_kind == postgresql || -f $db) ]] ||
        die "no cluster in $run (no store $db); start one with $(quickstart_command)"
    find_bin
    check_bin
    mkdir -p "$run/logs" "$run/pids"
    if running "$name"; then
        old="$(pid_of "$name")"
        say "== $name (pid $old): SIGTERM, waiting up to ${restart_stop_timeout}s for it to hand its agents over and exit"
        stop_processes "$restart_stop_timeout" "$name"
        running "$name" && die "$name (pid $old) is still running after SIGKILL; not starting a second one"
        say "   $name exited"
    else
        say "== $name was not running: starting it"
    fi
    check_ports_free "$name"
    trap on_start_failure EXIT
    start_server "$name"
    wait_for "a healthy admin port" "$name" healthz_ok "$(admin_port "$name")"
    trap - EXIT
    say "   $name up${old:+ again} on $(server_address "$name") (pid $(pid_of "$name")${old:+, was $old})"
    say ""
    ctl mgmt list
}
