#!/usr/bin/env bash
# Build libleadroute and the leadroute tool, show where each lead of a small
# sample goes and why, then route a realistic week of
# inbound leads: 5,000 leads, a table of 33 rules, 43 reps in the pools of six
# sales teams (examples/data/demo). Prints a summary, explains a few
# decisions, processes follow-up deadlines a day later, and writes an HTML
# report with charts (build-demo/report.html).
# Works from any directory; installs missing Debian packages first.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$repo/build-demo"
# relative paths keep the tool's messages short; the tool runs from $repo
data="examples/data/demo"
table="$data/table.csv"
roster="$data/roster.csv"
leads="$data/leads.csv"
now="2026-11-24T09:00:00Z"

# --- 1. packages ------------------------------------------------------------
packages=(meson ninja-build gcc pkg-config libxxhash-dev libsqlite3-dev python3)
missing=()
for p in "${packages[@]}"; do
    # a removed package keeps "deinstall" status: only "install ok installed" counts
    dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "==> installing: ${missing[*]}"
    if [[ $(id -u) -eq 0 ]]; then
        sudo=()
    elif command -v sudo >/dev/null; then
        sudo=(sudo)
    else
        echo "demo.sh: need root or sudo to install ${missing[*]}" >&2
        exit 1
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

# --- 2. build ---------------------------------------------------------------
echo "==> building into $build"
if [[ -f "$build/build.ninja" ]]; then
    meson setup --reconfigure "$build" "$repo" -Dtests=false -Dbench=false >/dev/null
else
    meson setup "$build" "$repo" -Dtests=false -Dbench=false >/dev/null
fi
ninja -C "$build" >/dev/null
cli="$build/examples/leadroute"
cd "$repo"

# A fresh state for each demo run (the tool's default is leadroute-state.db
# in the working directory; later runs continue where earlier ones stopped).
state="$build/demo-state.db"
rm -f "$state" "$state-wal" "$state-shm"
report="$build/report.html"

# --- 3. where each lead goes, and why: a small sample -------------------------
# examples/data: 11 rules, 16 reps, 31 leads, among them a bad row, a lead the
# table cannot read and a duplicate, reported on stderr with their lines.
echo
echo "==> leadroute route --table examples/data/routing.csv --reps examples/data/reps.csv examples/data/leads.csv --no-state"
status=0
"$cli" route --table examples/data/routing.csv --reps examples/data/reps.csv examples/data/leads.csv \
    --no-state --now "$now" >"$build/sample.csv" 2>"$build/sample-errors.txt" || status=$?
((status < 2)) || { cat "$build/sample-errors.txt" >&2; exit 1; }
python3 - "$build/sample.csv" <<'PY'
import csv, sys
with open(sys.argv[1], newline="") as f:
    for row in csv.DictReader(f):
        where = {"assigned": f"to {row['rep']}", "queued": "queued"}.get(row["status"], row["status"])
        via = ", ".join(x for x in (row["pool"] and f"pool {row['pool']}", row["rule"] and f"rule {row['rule']}") if x)
        print(f"  {row['id']:<7} {where:<16} {via:<40} {row['reason']}")
PY
sed 's/^/  not routed: /' "$build/sample-errors.txt"

# --- 4. the demo's table ------------------------------------------------------
echo
echo "==> leadroute check $table"
"$cli" check "$table" || { (($? == 1)) || exit 1; }

# --- 5. what if: simulate on an empty state, with the HTML report -------------
echo
echo "==> leadroute simulate --table $table --reps $roster $leads --dedupe-field email --html ..."
echo
status=0
"$cli" simulate --table "$table" --reps "$roster" "$leads" --dedupe-field email --no-state --now "$now" \
    --html "$report" || status=$?
((status < 2)) || exit 1

# --- 6. route for real: every decision lands in the state database ------------
echo
echo "==> leadroute route --table $table --reps $roster $leads --dedupe-field email --state STATE"
routed="$build/routed.csv"
status=0
"$cli" route --table "$table" --reps "$roster" "$leads" --dedupe-field email --state "$state" --now "$now" \
    >"$routed" 2>"$build/route-errors.txt" || status=$?
((status < 2)) || { cat "$build/route-errors.txt" >&2; exit 1; }
echo "  $(($(wc -l <"$routed") - 1)) decisions (all in $routed); the first ones (id,status,rep,pool,rule,reason):"
sed -n '2,9p' "$routed" | sed 's/^/    /'
if [[ -s "$build/route-errors.txt" ]]; then
    echo "  not routed (on stderr, one line each):"
    sed 's/^/    /' "$build/route-errors.txt"
fi

echo
echo "==> routing the same file again: nothing is assigned twice"
"$cli" route --table "$table" --reps "$roster" "$leads" --dedupe-field email --state "$state" --now "$now" \
    --format jsonl 2>/dev/null |
    sed -n 's/.*"status":"\([a-z]*\)".*/\1/p' | sort | uniq -c | sed 's/^/  /' || true

# --- 7. why: the recorded decision of a few leads -----------------------------
# L-10057: a big Italian deal, and no senior EMEA rep speaks Italian: the
# pool's default owner takes it. L-10093: a Finnish lead for inside sales,
# where nobody speaks Finnish: it waits in the overflow queue. Each was routed
# twice (the second run found it existing, or queued it again).
for id in L-10057 L-10093; do
    echo
    echo "==> leadroute explain $id"
    "$cli" explain --state "$state" "$id" | sed 's/^/  /'
done

# --- 8. a day later: follow-up deadlines ---------------------------------------
# Someone followed up L-10001; every other lead whose deadline passed moves to
# another rep of its pool, never back to an earlier one.
echo
echo "==> leadroute ack L-10001, then leadroute tick a day later"
"$cli" ack --table "$table" --reps "$roster" --state "$state" --now 2026-11-24T09:20:00Z \
    L-10001 >/dev/null
"$cli" tick --table "$table" --reps "$roster" --state "$state" --now 2026-11-25T09:00:00Z --leads "$leads" \
    --dedupe-field email >"$build/moves.csv" 2>"$build/tick.txt"
sed 's/^/  /' "$build/tick.txt"
echo "  the first moves (key,action,from,to,pool,reason):"
sed -n '2,6p' "$build/moves.csv" | sed 's/^/    /'

echo
echo "==> done"
echo "  HTML report:     $report"
echo "  state database:  $state (try: $cli explain --state $state L-10066)"
echo "  all decisions:   $routed"
