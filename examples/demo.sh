#!/usr/bin/env bash
# Build libleadroute and the leadroute tool, then evaluate the sample leads of
# examples/data against the sample table, route them to the sample reps, and
# explain where each one goes and why.
# Works from any directory; installs missing Debian packages first.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$repo/build-demo"
# relative paths keep the tool's messages short; the tool runs from $repo
table="examples/data/routing.csv"
leads="examples/data/leads.csv"
reps="examples/data/reps.csv"

# --- 1. packages ------------------------------------------------------------
packages=(meson ninja-build gcc pkg-config libxxhash-dev)
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

# --- 3. check the table -----------------------------------------------------
echo
echo "==> leadroute check $table"
check_status=0
"$cli" check "$table" || check_status=$?
if ((check_status == 2)); then
    echo "demo.sh: the table could not be read" >&2
    exit 1
fi

# --- 4. evaluate the leads --------------------------------------------------
echo
echo "==> leadroute eval $table $leads"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
eval_status=0
"$cli" eval "$table" "$leads" >"$tmp/out.csv" 2>"$tmp/err.txt" || eval_status=$?
if ((eval_status == 2)); then
    cat "$tmp/err.txt" >&2
    exit 1
fi

# Company names for a friendlier listing (the sample file has no quoted cells).
# Results: id,rule,pool,sla_minutes,owner,queue,... (first policy: one row per
# lead); a rule without a pool names a queue.
echo
awk -F, '
    NR == FNR { if (FNR > 1 && !($1 in company)) company[$1] = $2; next }
    FNR == 1  { next }
    {
        name = ($1 in company) ? company[$1] : ""
        target = $3 != "" ? $3 : $6 != "" ? "queue " $6 : "(none)"
        if ($2 == "")
            printf "  %-8s -> (no rule matched)                                           %s\n", $1, name
        else
            printf "  %-8s -> %-21s by rule %-14s SLA %4s min   %s\n", $1, target, $2, $4, name
        count[target]++
        total++
    }
    END {
        print ""
        print "==> leads per pool or queue"
        n = 0
        for (p in count) order[++n] = p
        # simple insertion sort, largest pool first
        for (i = 2; i <= n; i++) {
            v = order[i]; j = i - 1
            while (j > 0 && (count[order[j]] < count[v] || (count[order[j]] == count[v] && order[j] > v))) {
                order[j + 1] = order[j]; j--
            }
            order[j + 1] = v
        }
        for (i = 1; i <= n; i++)
            printf "  %-22s %3d\n", order[i], count[order[i]]
        printf "  %-22s %3d\n", "total evaluated", total
    }' "$leads" "$tmp/out.csv"

if [[ -s "$tmp/err.txt" ]]; then
    echo
    echo "==> skipped (reported by leadroute on stderr)"
    sed 's/^/  /' "$tmp/err.txt"
fi
echo
echo "raw CSV: $cli eval $repo/$table $repo/$leads"

# --- 5. route the leads to reps -----------------------------------------------
# The dedupe key is the email: a person who sends the form twice keeps their rep.
echo
echo "==> leadroute route --table $table --reps $reps $leads --dedupe-field email"
route_status=0
"$cli" route --table "$table" --reps "$reps" "$leads" --dedupe-field email \
    >"$tmp/route.csv" 2>"$tmp/route-err.txt" || route_status=$?
if ((route_status == 2)); then
    cat "$tmp/route-err.txt" >&2
    exit 1
fi

# Results: id,status,rep,pool,rule,reason; the reason may be a quoted cell.
echo
awk '
    # split a CSV line into f[1..n] (quoted cells with "" inside; no line breaks)
    function csv(line, f,    n, i, c, cell, q) {
        n = 0; cell = ""; q = 0
        for (i = 1; i <= length(line); i++) {
            c = substr(line, i, 1)
            if (q) {
                if (c == "\"" && substr(line, i + 1, 1) == "\"") { cell = cell c; i++ }
                else if (c == "\"") q = 0
                else cell = cell c
            } else if (c == "\"") q = 1
            else if (c == ",") { f[++n] = cell; cell = "" }
            else cell = cell c
        }
        f[++n] = cell
        return n
    }
    NR == FNR { split($0, l, ","); if (FNR > 1 && !(l[1] in company)) company[l[1]] = l[2]; next }
    FNR == 1  { next }
    {
        csv($0, f)
        who = f[2] == "assigned" || f[2] == "existing" ? f[3] : "-"
        printf "  %-7s %-10s %-8s %-13s %-13s %s\n", f[1], f[2], who, f[4] == "" ? "-" : f[4],
               f[5] == "" ? "-" : f[5], company[f[1]]
        printf "          why: %s\n", f[6]
        status[f[2]]++
        if (who != "-") reps[who]++
    }
    END {
        print ""
        print "==> outcomes"
        n = split("assigned existing queued unassigned unrouted", order, " ")
        for (i = 1; i <= n; i++)
            if (order[i] in status) printf "  %-12s %3d\n", order[i], status[order[i]]
        print ""
        print "==> leads per rep (assigned or kept)"
        for (r in reps) printf "  %-12s %3d\n", r, reps[r] | "sort"
        close("sort")
    }' "$leads" "$tmp/route.csv"

if [[ -s "$tmp/route-err.txt" ]]; then
    echo
    echo "==> not routed or skipped (reported by leadroute on stderr)"
    sed 's/^/  /' "$tmp/route-err.txt"
fi

# --- 6. explain one decision ----------------------------------------------------
# L-1030 speaks Italian: no EMEA rep does, the fallback pool is full, so it waits
# in the overflow queue. --explain adds the whole trace as JSON.
explain_id="L-1030"
echo
echo "==> why $explain_id went where it did (route --explain, the trace column)"
"$cli" route --table "$table" --reps "$reps" "$leads" --dedupe-field email --explain 2>/dev/null |
    awk -v id="$explain_id" '
        index($0, id ",") == 1 {
            # the trace is the last cell: a quoted JSON object with "" for each quote
            i = index($0, ",\"{")
            json = substr($0, i + 2, length($0) - i - 2)
            gsub(/""/, "\"", json)
            print json
        }' >"$tmp/explain.json" || true
if command -v python3 >/dev/null; then
    python3 -m json.tool "$tmp/explain.json" | sed 's/^/  /'
else
    sed 's/^/  /' "$tmp/explain.json"
fi
echo
echo "raw CSV: $cli route --table $repo/$table --reps $repo/$reps $repo/$leads [--explain] [--dedupe-field email]"

# --- 7. follow-up deadlines -----------------------------------------------------
# Route into a state file at a fixed time; Diego follows L-1011 up; a day later
# a tick moves every lead nobody followed up to another rep of its pool (never
# back to an earlier one). Later runs of route, tick and ack share the file.
state="$tmp/state.txt"
echo
echo "==> leadroute route ... --state STATE --now 2026-11-24T09:30:00Z, ack L-1011, tick a day later"
route_status=0
"$cli" route --table "$table" --reps "$reps" "$leads" --state "$state" --now 2026-11-24T09:30:00Z \
    >/dev/null 2>&1 || route_status=$?
if ((route_status == 2)); then
    echo "demo.sh: route --state failed" >&2
    exit 1
fi
"$cli" ack --table "$table" --reps "$reps" --state "$state" --now 2026-11-24T10:05:00Z L-1011 >/dev/null
"$cli" tick --table "$table" --reps "$reps" --state "$state" --now 2026-11-25T09:30:00Z --leads "$leads" \
    2>"$tmp/tick-err.txt" | sed 's/^/  /'
grep '^due ' "$tmp/tick-err.txt" | sed 's/^/  /'
echo
echo "raw CSV: $cli tick --table $repo/$table --reps $repo/$reps --state STATE [--now TIME] [--leads $repo/$leads]"
