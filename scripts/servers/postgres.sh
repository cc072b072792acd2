#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server on 127.0.0.1 for tests and local runs.
#   postgres.sh start DIR PORT   initdb (trust auth, user postgres) unless DIR holds a cluster
#                                already (then it is restarted with its data); waits until ready
#   postgres.sh stop DIR         immediate shutdown
# initdb refuses root: it and pg_ctl run as the postgres user on a folder it owns.
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
cmd="${1:?start|stop}"; dir="${2:?state folder}"
as_postgres() { if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
  start)
    port="${3:?port}"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    [[ "$(id -u)" == 0 ]] && chown postgres "$dir" && chmod 700 "$dir"
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
      as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync > "$dir/initdb.out" 2>&1 || { cat "$dir/initdb.out" >&2; exit 1; }
    fi
    # Test settings: no fsync (a crash loses nothing anyone needs), socket in the folder.
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start > "$dir/pg_ctl.out" 2>&1 || { cat "$dir/pg_ctl.out" "$dir/server.log" >&2; exit 1; }
    echo "postgres ready: Host=127.0.0.1;Port=$port;Username=postgres"
    ;;
  stop)
    [[ -d "$dir/data" ]] || exit 0
    as_postgres "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop > /dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
