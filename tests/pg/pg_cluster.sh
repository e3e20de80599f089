#!/bin/sh
# A throwaway PostgreSQL cluster for the pg_store tests.
#
#   pg_cluster.sh start DIR   initdb a cluster in DIR (which must not hold one
#                             yet), start it listening on 127.0.0.1 on a free
#                             port with its unix socket in DIR, create the
#                             database `leadroute`, print the conninfo (also
#                             kept in DIR/conninfo).
#   pg_cluster.sh stop DIR    stop it (DIR is left for the caller to remove).
#
# The server runs as an unprivileged user: the caller, or when run as root
# the user `leadroute-pg` (created if missing). Durability is off (fsync,
# synchronous_commit): a test cluster that never survives a power failure.
# Exits 77 (skip) when PostgreSQL's server programs are not installed.
# SPDX-License-Identifier: MIT
set -eu

usage() {
    echo "usage: pg_cluster.sh start|stop DIR" >&2
    exit 2
}
[ $# -eq 2 ] || usage
action=$1
dir=$2

bindir=
for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && bindir=$d # the last one: the newest version
done
if [ -z "$bindir" ]; then
    echo "pg_cluster.sh: PostgreSQL's initdb is not installed (/usr/lib/postgresql/*/bin/initdb); skipping" >&2
    exit 77
fi

# Run a command as the cluster's owner.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u leadroute-pg -- "$@"
    else
        "$@"
    fi
}

case $action in
start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ -e "$dir/data" ]; then
        echo "pg_cluster.sh: $dir/data exists: stop and remove the old cluster first" >&2
        exit 1
    fi
    if [ "$(id -u)" -eq 0 ]; then
        id leadroute-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin leadroute-pg
        chown leadroute-pg "$dir"
    fi
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$bindir/initdb" -D "$dir/data" -U leadroute --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
        >"$dir/initdb.log" 2>&1 || {
        echo "pg_cluster.sh: initdb failed, see $dir/initdb.log" >&2
        exit 1
    }
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c fsync=off \
            -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=32MB -c max_connections=40" \
        start >/dev/null || {
        echo "pg_cluster.sh: the server did not start, see $dir/server.log" >&2
        exit 1
    }
    as_owner "$bindir/createdb" -h "$dir" -p "$port" -U leadroute leadroute
    conninfo="host=127.0.0.1 port=$port user=leadroute dbname=leadroute"
    echo "$conninfo" >"$dir/conninfo"
    echo "$conninfo"
    ;;
stop)
    [ -d "$dir/data" ] || {
        echo "pg_cluster.sh: no cluster in $dir" >&2
        exit 1
    }
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
*)
    usage
    ;;
esac
