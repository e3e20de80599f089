#!/usr/bin/env bash
# Regenerate tests/abi/libleadroute.abi, the ABI baseline that the 'abidiff'
# test of the abi suite compares the built library with. Run it only for a
# deliberate ABI change (a release that adds functions or appends struct
# members), then review and commit the diff of the baseline.
#
#   tests/abi/update_baseline.sh              build the library afresh (debugoptimized, -g)
#   tests/abi/update_baseline.sh BUILD_DIR    use BUILD_DIR/lib/libleadroute.so.1 (needs debug info)
#
# Needs abidw (Debian package abigail-tools).
# SPDX-License-Identifier: MIT
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
repo_root="$(pwd)"
out="$repo_root/tests/abi/libleadroute.abi"

if ! command -v abidw >/dev/null 2>&1; then
    echo "update_baseline.sh: abidw not found: apt-get install abigail-tools" >&2
    exit 1
fi

tmp=""
cleanup() { [ -n "$tmp" ] && rm -rf "$tmp"; }
trap cleanup EXIT

if [ $# -ge 1 ]; then
    build="$1"
else
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/leadroute-abi.XXXXXX")"
    build="$tmp/build"
    meson setup "$build" "$repo_root" -Dbuildtype=debugoptimized -Dtests=false -Dbench=false -Dexamples=false \
        >"$tmp/setup.log" || { cat "$tmp/setup.log" >&2; exit 1; }
    ninja -C "$build" lib/libleadroute.so.1.0.0 >"$tmp/build.log" || { cat "$tmp/build.log" >&2; exit 1; }
fi
lib="$build/lib/libleadroute.so.1"
if [ ! -e "$lib" ]; then
    echo "update_baseline.sh: $lib not found" >&2
    exit 1
fi
if ! readelf -S "$lib" | grep -q '\.debug_info'; then
    echo "update_baseline.sh: $lib has no debug info; build with -Dbuildtype=debugoptimized or debug" >&2
    exit 1
fi

# Only what the public headers declare; no line numbers, and each
# translation unit named from the source root (abidw names it from the
# build directory), so the file changes only when the ABI does, wherever
# the tree and its build are.
abidw --no-corpus-path --no-comp-dir-path --no-show-locs --drop-private-types \
    --headers-dir "$repo_root/include/leadroute" --type-id-style hash \
    --out-file "$out.tmp" "$lib"
sed -E "s#^( *<abi-instr [^>]*path=')[^']*/(lib/[^']*')#\1\2#" "$out.tmp" >"$out.tmp2"
rm -f "$out.tmp"
mv "$out.tmp2" "$out"
echo "wrote $out ($(grep -c '<function-decl ' "$out") functions); review and commit its diff"
