#!/usr/bin/env bash
# Build libleadroute and the leadroute tool, then route the sample leads of
# examples/data through the sample table and explain where each one goes.
# Works from any directory; installs missing Debian packages first.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$repo/build-demo"
# relative paths keep the tool's messages short; the tool runs from $repo
table="examples/data/routing.csv"
leads="examples/data/leads.csv"

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

# --- 4. route the leads -----------------------------------------------------
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
# Results: id,rule,pool,sla_minutes (first policy: one row per lead).
echo
awk -F, '
    NR == FNR { if (FNR > 1 && !($1 in company)) company[$1] = $2; next }
    FNR == 1  { next }
    {
        name = ($1 in company) ? company[$1] : ""
        if ($2 == "")
            printf "  %-8s -> (no rule matched)                                  %s\n", $1, name
        else
            printf "  %-8s -> %-19s by rule %-14s SLA %4s min   %s\n", $1, $3, $2, $4, name
        count[$3 == "" ? "(none)" : $3]++
        total++
    }
    END {
        print ""
        print "==> leads per pool"
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
            printf "  %-20s %3d\n", order[i], count[order[i]]
        printf "  %-20s %3d\n", "total routed", total
    }' "$leads" "$tmp/out.csv"

if [[ -s "$tmp/err.txt" ]]; then
    echo
    echo "==> skipped (reported by leadroute on stderr)"
    sed 's/^/  /' "$tmp/err.txt"
fi
echo
echo "raw CSV: $cli eval $repo/$table $repo/$leads"
