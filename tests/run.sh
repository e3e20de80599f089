#!/usr/bin/env bash
# The one test command of libleadroute.
#
#   tests/run.sh              all phases
#   tests/run.sh --quick      phase 1 only
#
# Phases:
#   1. build-test: a -Dwerror=true build, every meson test suite
#   1b. build-clang: the same with clang, whose warnings differ from gcc's
#   2. build-asan: AddressSanitizer + UndefinedBehaviorSanitizer, every suite
#   3. valgrind memcheck over the unit suite of build-test
#   4. build-tsan: ThreadSanitizer over the router, store and stress tests
#   5. fuzz: every libFuzzer target of tests/fuzz for a few seconds (clang,
#      ASan+UBSan), after replaying its regression inputs
#
# On Debian it first installs whatever build or test tool is missing.
# Ends with one line "N passed, N failed" and exits non-zero on any failure.
# SPDX-License-Identifier: MIT
set -euo pipefail

usage() {
    cat <<'EOF'
usage: tests/run.sh [--quick] [--no-clang] [--no-asan] [--no-valgrind] [--no-tsan] [--no-fuzz] [--no-install] [--help]
  --quick        phase 1 only (werror build, all suites)
  --no-clang     skip phase 1b (the werror build and suites with clang)
  --no-asan      skip phase 2 (ASan+UBSan build)
  --no-valgrind  skip phase 3 (unit suite under valgrind)
  --no-tsan      skip phase 4 (router and store tests under ThreadSanitizer)
  --no-fuzz      skip phase 5 (a short run of every fuzz target)
  --no-install   do not install missing Debian packages
EOF
}

run_clang=1
run_asan=1
run_valgrind=1
run_tsan=1
run_fuzz=1
install=1
for arg in "$@"; do
    case "$arg" in
        --quick) run_clang=0; run_asan=0; run_valgrind=0; run_tsan=0; run_fuzz=0 ;;
        --no-clang) run_clang=0 ;;
        --no-asan) run_asan=0 ;;
        --no-valgrind) run_valgrind=0 ;;
        --no-tsan) run_tsan=0 ;;
        --no-fuzz) run_fuzz=0 ;;
        --no-install) install=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "tests/run.sh: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
    esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo_root="$(pwd)"

# ---- dependencies ---------------------------------------------------------

# chromium renders the HTML report in the cli suite; libsqlite3-dev and
# libpq-dev are the example host stores' (never dependencies of the library);
# postgresql runs a throwaway cluster for the multi-process proof;
# abigail-tools compares the ABI with tests/abi/libleadroute.abi; clang builds
# the project a second time (phase 1b) and the libFuzzer targets
packages=(meson ninja-build gcc g++ pkg-config libcmocka-dev libxxhash-dev libsqlite3-dev libpq-dev postgresql
          valgrind python3 locales chromium abigail-tools clang)

install_missing() {
    if ! command -v dpkg >/dev/null 2>&1; then
        echo "tests/run.sh: not a Debian system; make sure these are installed: ${packages[*]}" >&2
        return 0
    fi
    local missing=() pkg
    for pkg in "${packages[@]}"; do
        # dpkg -s also knows removed packages; only "install ok installed" counts.
        if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
            missing+=("$pkg")
        fi
    done
    [ "${#missing[@]}" -eq 0 ] && return 0

    echo "tests/run.sh: installing ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "tests/run.sh: missing ${missing[*]}, and not root and no sudo to install them" >&2
            exit 1
        fi
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}"
}

if [ "$install" -eq 1 ]; then
    install_missing
fi

# ---- running and counting ---------------------------------------------------

total_passed=0
total_failed=0
log_dir="$(mktemp -d "${TMPDIR:-/tmp}/leadroute-tests.XXXXXX")"
trap 'rm -rf "$log_dir"' EXIT

# A decimal-comma locale, so the tests can check that numbers in JSON and
# explain output never follow the host's locale. Built here, not installed.
mkdir -p "$log_dir/locale"
if command -v localedef >/dev/null 2>&1 &&
    localedef -i de_DE -f UTF-8 "$log_dir/locale/de_DE.UTF-8" >/dev/null 2>&1; then
    export LOCPATH="$log_dir/locale"
else
    echo "tests/run.sh: note: could not build the de_DE.UTF-8 locale; the locale test will skip" >&2
fi

# Run a command that must succeed for a phase to go on (setup, compile).
# A failure counts once and skips the rest of the phase.
step() {
    echo "+ $*"
    if ! "$@"; then
        echo "tests/run.sh: FAILED: $*" >&2
        total_failed=$((total_failed + 1))
        return 1
    fi
}

# Read the number after a summary label ("Ok:", "Fail:", ...) from a log.
summary_count() {
    local n
    n="$(sed -n "s/^$1:[[:space:]]*\([0-9][0-9]*\).*/\1/p" "$2" | tail -n 1)"
    echo "${n:-0}"
}

# Run `meson test` with the given arguments, add its counts to the totals.
run_meson_test() {
    local name="$1"
    shift
    local log="$log_dir/$name.log" status=0
    echo "+ meson test $*"
    meson test "$@" 2>&1 | tee "$log" || status=$?

    if [ "$status" -eq 0 ] && grep -q '^No \(suitable \)\?tests defined' "$log"; then
        echo "tests/run.sh: note: no tests matched: meson test $*" >&2
        return
    fi
    if ! grep -q '^Ok:' "$log"; then
        # meson stopped before it could summarise (a build error, say).
        echo "tests/run.sh: FAILED: meson test $* gave no summary (exit $status)" >&2
        total_failed=$((total_failed + 1))
        return
    fi
    local ok expected fail unexpected timeout
    # An expected failure (should_fail: true) is a pass.
    expected="$(summary_count 'Expected Fail' "$log")"
    ok=$(($(summary_count 'Ok' "$log") + expected))
    fail="$(summary_count 'Fail' "$log")"
    unexpected="$(summary_count 'Unexpected Pass' "$log")"
    timeout="$(summary_count 'Timeout' "$log")"
    total_passed=$((total_passed + ok))
    local failed=$((fail + unexpected + timeout))
    if [ "$failed" -eq 0 ] && [ "$status" -ne 0 ]; then
        failed=1  # meson failed without counting a test as failed
    fi
    total_failed=$((total_failed + failed))
    echo "--- $name: $ok passed, $failed failed"
}

# Configure a build directory from scratch (it may hold an older setup).
setup() {
    local dir="$1"
    shift
    if [ -d "$dir" ]; then
        rm -rf "$dir"
    fi
    step meson setup "$dir" "$@"
}

# ---- phase 1: warnings as errors, every suite ------------------------------

echo "=== phase 1: build-test (-Dwerror=true), all suites"
phase1_built=0
if setup build-test -Dwerror=true && step meson compile -C build-test; then
    phase1_built=1
    run_meson_test build-test -C build-test --print-errorlogs
fi

# ---- phase 1b: the same with clang ------------------------------------------

if [ "$run_clang" -eq 1 ]; then
    echo "=== phase 1b: build-clang (clang, -Dwerror=true), all suites"
    if CC=clang CXX=clang++ setup build-clang -Dwerror=true && step meson compile -C build-clang; then
        run_meson_test build-clang -C build-clang --print-errorlogs
    fi
fi

# ---- phase 2: ASan + UBSan, every suite -------------------------------------

if [ "$run_asan" -eq 1 ]; then
    echo "=== phase 2: build-asan (address,undefined), all suites"
    if setup build-asan -Db_sanitize=address,undefined -Db_lundef=false &&
        step meson compile -C build-asan; then
        # The Python suite loads the library into an uninstrumented
        # interpreter, which AddressSanitizer refuses; it ran in phase 1.
        # halt_on_error: an undefined-behaviour report fails its test.
        # print_suppressions=0: a suppressed leak must not add lines to the
        # stderr that the command-line tests check. (No comment may sit
        # inside the continued command below: it would end it there.)
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        ASAN_OPTIONS=detect_leaks=1 \
        LSAN_OPTIONS="suppressions=$repo_root/tests/lsan-suppressions.txt:print_suppressions=0" \
            run_meson_test build-asan -C build-asan --print-errorlogs --timeout-multiplier 3 --no-suite python
    fi
fi

# ---- phase 3: valgrind over the unit suite ----------------------------------

if [ "$run_valgrind" -eq 1 ]; then
    echo "=== phase 3: valgrind memcheck, unit suite of build-test"
    if [ "$phase1_built" -eq 1 ]; then
        # The differential test already made its million comparisons natively
        # and under ASan; under valgrind a twentieth of them checks the memory.
        LEADROUTE_DIFF_SCALE=0.05 LEADROUTE_STRESS_SECONDS=1 run_meson_test valgrind -C build-test --print-errorlogs --suite unit \
            --timeout-multiplier 20 \
            --wrapper 'valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect --track-origins=yes --quiet'
    else
        echo "tests/run.sh: skipping valgrind: build-test did not build" >&2
    fi
fi

# ---- phase 4: ThreadSanitizer over the concurrent tests ----------------------

if [ "$run_tsan" -eq 1 ]; then
    echo "=== phase 4: build-tsan (thread), router and store tests"
    tsan_tests=(test_router_threads test_memstore test_router test_sla test_followups test_stress)
    if setup build-tsan -Db_sanitize=thread -Db_lundef=false &&
        step meson compile -C build-tsan "${tsan_tests[@]}"; then
        # The races are in the first seconds; the million-lead fairness runs
        # already ran at full size in phases 1 and 2.
        TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 LEADROUTE_DIFF_SCALE=0.2 LEADROUTE_STRESS_SECONDS=5 \
            run_meson_test build-tsan -C build-tsan --print-errorlogs --no-rebuild --timeout-multiplier 5 \
            "${tsan_tests[@]}"
    fi
fi

# ---- phase 5: fuzzing, briefly ----------------------------------------------

if [ "$run_fuzz" -eq 1 ]; then
    echo "=== phase 5: fuzz targets, 10 s each (tests/fuzz/run.sh)"
    if FUZZ_BUILD_DIR="$repo_root/build-fuzz" tests/fuzz/run.sh 10 --no-install; then
        total_passed=$((total_passed + 1))
    else
        echo "tests/run.sh: FAILED: tests/fuzz/run.sh 10" >&2
        total_failed=$((total_failed + 1))
    fi
fi

logs="$repo_root/build-test/meson-logs"
if [ "$run_asan" -eq 1 ]; then
    logs="$logs $repo_root/build-asan/meson-logs"
fi
echo "test logs: $logs"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
