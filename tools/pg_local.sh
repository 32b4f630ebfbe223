#!/usr/bin/env bash
# A throwaway local PostgreSQL cluster for tests, benchmarks and the
# quickstart: never for production (see docs/PRODUCTION.md).
#
#   tools/pg_local.sh start DIR [--listen ADDR] [--port PORT] [--no-fsync]
#       initdb into DIR (as the unprivileged user `nobody` when run as root:
#       PostgreSQL refuses to run as root), start it on ADDR:PORT (default
#       127.0.0.1 and a free port), create the database `agentlb` owned by
#       the role `agentlb` with a random password, and print the connection
#       URI. A cluster already running in DIR is stopped and removed first.
#   tools/pg_local.sh uri DIR      print the URI again
#   tools/pg_local.sh stop DIR     stop the cluster and remove DIR
#   tools/pg_local.sh pause DIR    stop the server, keep its data
#   tools/pg_local.sh resume DIR   start it again on the same address
#
# The password is also in DIR/password (mode 0600). Local socket
# connections (DIR/socket) need no password.
set -euo pipefail

pg_bin() {
    local dir
    for dir in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
        if [[ -x "$dir/initdb" ]]; then
            echo "$dir"
            return 0
        fi
    done
    echo "pg_local.sh: PostgreSQL server binaries not found (install Debian's postgresql-15)" >&2
    return 1
}

# Runs a PostgreSQL program as the cluster's owner.
as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u nobody -- "$@"
    else
        "$@"
    fi
}

port_is_free() {
    ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

free_port() {
    local port
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 30000))
        if port_is_free "$port"; then
            echo "$port"
            return 0
        fi
    done
    echo "pg_local.sh: no free port found" >&2
    return 1
}

print_uri() {
    local dir="$1"
    echo "postgresql://agentlb:$(cat "$dir/password")@$(cat "$dir/listen"):$(cat "$dir/port")/agentlb"
}

server_start() {
    local dir="$1" bin
    bin="$(pg_bin)"
    local options="-c listen_addresses=$(cat "$dir/listen") -p $(cat "$dir/port") -k $dir/socket"
    options+=" -c max_connections=200 $(cat "$dir/extra_options")"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$options" start >/dev/null
}

cmd_stop() {
    local dir="$1"
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        as_owner "$(pg_bin)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

cmd_start() {
    local dir="$1"
    shift
    local listen=127.0.0.1 port="" extra=""
    while (($#)); do
        case "$1" in
            --listen) listen="$2"; shift 2 ;;
            --port) port="$2"; shift 2 ;;
            --no-fsync) extra="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"; shift ;;
            *) echo "pg_local.sh: unknown option $1" >&2; return 2 ;;
        esac
    done
    cmd_stop "$dir"
    mkdir -p "$dir/socket"
    chmod 0755 "$dir"
    [[ -n "$port" ]] || port="$(free_port)"
    echo "$listen" >"$dir/listen"
    echo "$port" >"$dir/port"
    echo "$extra" >"$dir/extra_options"
    (umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' 'xy' >"$dir/password")
    local bin
    bin="$(pg_bin)"
    if [[ "$(id -u)" == 0 ]]; then
        chown -R nobody:nogroup "$dir"
    fi
    # The password file is read by initdb (as the owner), then kept for the caller.
    as_owner "$bin/initdb" -D "$dir/data" -U agentlb --pwfile="$dir/password" -E UTF8 --no-sync \
        --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        return 1
    }
    echo "host all all 0.0.0.0/0 scram-sha-256" >>"$dir/data/pg_hba.conf"
    server_start "$dir" || {
        cat "$dir/server.log" >&2
        return 1
    }
    as_owner "$bin/createdb" -h "$dir/socket" -p "$port" -U agentlb agentlb
    print_uri "$dir"
}

main() {
    local command="${1:-}" dir="${2:-}"
    if [[ -z "$command" || -z "$dir" ]]; then
        sed -n '5,17p' "$0" >&2
        return 2
    fi
    shift 2
    case "$command" in
        start) cmd_start "$dir" "$@" ;;
        stop) cmd_stop "$dir" ;;
        uri) print_uri "$dir" ;;
        pause) as_owner "$(pg_bin)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null ;;
        resume) server_start "$dir" ;;
        *) echo "pg_local.sh: unknown command $command" >&2; return 2 ;;
    esac
}

main "$@"
