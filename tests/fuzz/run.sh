#!/usr/bin/env bash
# Fuzz libleadroute with libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer.
#
#   tests/fuzz/run.sh [SECONDS] [--merge] [--no-install]
#
# Builds the targets of tests/fuzz (meson option -Dfuzz=true, clang) in
# build-fuzz (or $FUZZ_BUILD_DIR), replays every input under
# tests/fuzz/regressions/<target>/, then runs each target for SECONDS
# (default 60) on a copy of its committed corpus, so the corpus does not
# grow unless --merge asks to fold new coverage back into it.
# Prints per target executions, exec/s, coverage (cov:, ft:) and crashes;
# exits non-zero on a crash, a leak or a failed regression. Crash inputs are
# kept in <build>/fuzz-artifacts: commit one as tests/fuzz/regressions/<target>/<name>.
# A short bounded run for CI: tests/fuzz/run.sh 10
# SPDX-License-Identifier: MIT
set -euo pipefail

seconds=60
merge=0
install=1
for arg in "$@"; do
    case "$arg" in
        --merge) merge=1 ;;
        --no-install) install=0 ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *[!0-9]*|'') echo "tests/fuzz/run.sh: unknown argument '$arg'" >&2; exit 2 ;;
        *) seconds="$arg" ;;
    esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
repo_root="$(pwd)"
fuzz_dir="$repo_root/tests/fuzz"
build="${FUZZ_BUILD_DIR:-$repo_root/build-fuzz}"
# FUZZ_TARGETS="fuzz_leads fuzz_router" runs only those
read -r -a targets <<<"${FUZZ_TARGETS:-fuzz_table fuzz_leads fuzz_roster fuzz_router}"

# ---- clang and the build tools -----------------------------------------------

packages=(clang meson ninja-build pkg-config libxxhash-dev)
if [ "$install" -eq 1 ] && command -v dpkg >/dev/null 2>&1; then
    missing=()
    for pkg in "${packages[@]}"; do
        if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
            missing+=("$pkg")
        fi
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "tests/fuzz/run.sh: installing ${missing[*]}"
        sudo=()
        if [ "$(id -u)" -ne 0 ]; then
            if ! command -v sudo >/dev/null 2>&1; then
                echo "tests/fuzz/run.sh: missing ${missing[*]}, and not root and no sudo to install them" >&2
                exit 1
            fi
            sudo=(sudo)
        fi
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    fi
fi

# ---- build ------------------------------------------------------------------------

if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" -Dfuzz=true -Dtests=false -Dbench=false -Dexamples=false \
        -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C "$build" -j2 $(printf 'tests/fuzz/%s ' "${targets[@]}")

# ---- run ----------------------------------------------------------------------------

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
work="$(mktemp -d "${TMPDIR:-/tmp}/leadroute-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"

failed=0
summary=()
for t in "${targets[@]}"; do
    exe="$build/tests/fuzz/$t"
    dict=()
    [ -f "$fuzz_dir/$t.dict" ] && dict=("-dict=$fuzz_dir/$t.dict")

    # Regression inputs: each must run clean.
    regressions=()
    if [ -d "$fuzz_dir/regressions/$t" ]; then
        while IFS= read -r -d '' f; do regressions+=("$f"); done \
            < <(find "$fuzz_dir/regressions/$t" -type f ! -name '.*' -print0 | sort -z)
    fi
    regression_status=ok
    if [ "${#regressions[@]}" -gt 0 ]; then
        if ! "$exe" "${dict[@]}" "${regressions[@]}" >"$work/$t.regressions.log" 2>&1; then
            regression_status=FAILED
            failed=1
            tail -n 40 "$work/$t.regressions.log" >&2
        fi
    fi

    corpus="$work/corpus-$t"
    mkdir -p "$corpus"
    cp "$fuzz_dir/corpus/$t/"* "$corpus/" 2>/dev/null || true
    log="$work/$t.log"
    echo "=== $t: ${#regressions[@]} regression inputs $regression_status; fuzzing for ${seconds}s"
    status=0
    "$exe" "${dict[@]}" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 -timeout=25 \
        -artifact_prefix="$artifacts/$t-" "$corpus" >"$log" 2>&1 || status=$?

    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
    cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)"
    ft="$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)"
    crashes="$(grep -c -E '^==[0-9]+==ERROR|runtime error:|deadly signal|fuzz invariant broken' "$log" || true)"
    if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        failed=1
        [ "$crashes" -eq 0 ] && crashes=1
        echo "--- $t failed (exit $status); log tail:" >&2
        tail -n 60 "$log" >&2
        ls -1 "$artifacts" | sed -n "s|^$t-|    artifact: $artifacts/$t-|p" >&2
    fi
    if [ "$merge" -eq 1 ] && [ "$status" -eq 0 ]; then
        "$exe" -merge=1 "${dict[@]}" "$fuzz_dir/corpus/$t" "$corpus" >"$work/$t.merge.log" 2>&1 || failed=1
    fi
    line="$(printf '%-12s executions %-10s exec/s %-7s cov %-6s ft %-6s crashes %s regressions %s' \
        "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$crashes" "$regression_status")"
    echo "$line"
    summary+=("$line")
done

echo "=== summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
[ "$failed" -eq 0 ]
