#!/bin/sh
# Run bench_pg against a throwaway PostgreSQL cluster: start one with
# tests/pg/pg_cluster.sh in a temporary directory, run the benchmark, stop
# the cluster and remove the directory.
#
#   tests/bench/bench_pg.sh BUILD_DIR [bench_pg arguments...]
#
# The throwaway cluster runs with fsync=off and synchronous_commit=off (see
# pg_cluster.sh): commits do not wait for the disk, so the figures leave out
# what a durable server pays per commit (docs/postgresql.md). Against a
# server of your own: BUILD_DIR/tests/bench/bench_pg "CONNINFO".
# Exits 77 when PostgreSQL's server programs are not installed.
# SPDX-License-Identifier: MIT
set -eu

if [ $# -lt 1 ] || [ ! -x "$1/tests/bench/bench_pg" ]; then
    echo "usage: bench_pg.sh BUILD_DIR [bench_pg arguments...] (BUILD_DIR/tests/bench/bench_pg must exist:" \
        "meson setup with -Dpostgresql=enabled)" >&2
    exit 2
fi
bench=$1/tests/bench/bench_pg
shift
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/bench_pg.XXXXXX")
chmod 755 "$dir" # the server's own user must reach its directory when run as root
cleanup() {
    sh "$here/../pg/pg_cluster.sh" stop "$dir/cluster" >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM
status=0
conninfo=$(sh "$here/../pg/pg_cluster.sh" start "$dir/cluster") || status=$?
if [ "$status" -ne 0 ]; then
    exit "$status"
fi
echo "throwaway cluster: fsync=off, synchronous_commit=off (a crash of it may lose committed work)"
"$bench" "$conninfo" "$@"
