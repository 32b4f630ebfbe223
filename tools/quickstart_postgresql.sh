# The quickstart's local PostgreSQL (AGENTLB_STORE=postgresql), sourced by
# tools/quickstart.sh: it uses that script's run, pg_dir, pgpass, port_base,
# root, say and die, and sets db and pg_started.

# Without the lock's descriptor: the PostgreSQL server it starts would hold
# the lock for as long as it runs.
pg_local() { "$root/tools/pg_local.sh" "$@" 9>&-; }

# Its postmaster, recognised by its data folder on its command line.
postgresql_running() {
    local file="$pg_dir/data/postmaster.pid" pid args=() arg
    [[ -f $file ]] || return 1
    pid="$(head -n 1 "$file" 2>/dev/null)"
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    mapfile -d '' -t args 2>/dev/null <"/proc/$pid/cmdline" || return 1
    for arg in "${args[@]}"; do
        [[ $arg == "$pg_dir/data" ]] && return 0
    done
    return 1
}

postgresql_exists() { [[ -f $pg_dir/data/PG_VERSION ]]; }

# The first time: a new cluster (database and role agentlb, a random password
# kept in run/pgpass for libpq), on a free port outside the quickstart's
# block. Afterwards: the cluster kept in its folder, on the same port.
start_postgresql() {
    postgresql_running && return 0
    mkdir -p "$run/logs"
    if postgresql_exists; then
        say "== starting PostgreSQL kept in $pg_dir"
        pg_local resume "$pg_dir" >/dev/null 2>>"$run/logs/postgresql.log" || {
            tail -n 15 "$pg_dir/server.log" >&2 || true
            die "PostgreSQL in $pg_dir did not start (its log: $pg_dir/server.log)"
        }
    else
        say "== new PostgreSQL in $pg_dir"
        local attempt port
        for attempt in 1 2 3; do
            pg_local start "$pg_dir" >/dev/null 2>>"$run/logs/postgresql.log" ||
                die "PostgreSQL could not be set up in $pg_dir; see $run/logs/postgresql.log"
            port="$(cat "$pg_dir/port")"
            ((port < port_base || port > port_base + 4)) && break
            ((attempt < 3)) || die "PostgreSQL found no free port outside $port_base..$((port_base + 4))"
        done
        (umask 077 && printf '%s:%s:agentlb:agentlb:%s\n' "$(cat "$pg_dir/listen")" "$port" \
            "$(cat "$pg_dir/password")" >"$pgpass")
    fi
    pg_started=1
    db="$(postgresql_location)"
}

# Stops it and keeps its data (the next start resumes it). True if it was running.
stop_postgresql() {
    postgresql_running || return 1
    pg_local pause "$pg_dir" >/dev/null 2>>"$run/logs/postgresql.log" ||
        say "quickstart: stopping PostgreSQL in $pg_dir failed; see $pg_dir/server.log" >&2
    return 0
}

