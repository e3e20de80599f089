#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check the dynamic symbol table of libleadroute against the committed ABI.

Usage: check_symbols.py LIBRARY MAP_FILE SYM_FILE

Fails when:
- the exported symbols differ from SYM_FILE (the sorted list we promise);
- MAP_FILE (the linker version script) and SYM_FILE disagree;
- an exported name lacks the leadroute_ prefix, or an XXH symbol leaks;
- an exported symbol is unversioned or sits in a node other than the one the
  version script gives it;
- the soname is not libleadroute.so.<major>.

The tools can be overridden with the NM and READELF environment variables.
"""

import difflib
import os
import re
import shutil
import subprocess
import sys

SONAME = "libleadroute.so.1"
PREFIX = "leadroute_"


def run(tool, *args):
    exe = shutil.which(tool)
    if exe is None:
        sys.exit(f"error: '{tool}' not found (install binutils)")
    proc = subprocess.run([exe, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"error: {tool} {' '.join(args)} failed:\n{proc.stderr}")
    return proc.stdout


def parse_map(path):
    """Return ({symbol: node}, [nodes in order]) from a version script."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"#[^\n]*", " ", text)
    symbols, nodes = {}, []
    # NODE { global: a; b; local: *; } [PARENT];
    for m in re.finditer(r"([A-Za-z_][\w.]*)\s*\{(.*?)\}\s*([\w.]*)\s*;", text, flags=re.S):
        node, body = m.group(1), m.group(2)
        nodes.append(node)
        scope = "global"
        for tok in re.split(r"[;\s]+", body):
            if not tok:
                continue
            if tok in ("global:", "local:"):
                scope = tok[:-1]
                continue
            if scope != "global":
                continue
            if tok in symbols:
                print(f"FAIL: {path}: '{tok}' listed in both {symbols[tok]} and {node}")
                symbols["\0dup"] = node
            symbols[tok] = node
    return symbols, nodes


def read_sym(path):
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def show_diff(expected, actual, expected_name, actual_name):
    diff = difflib.unified_diff(expected, actual, expected_name, actual_name, lineterm="", n=1)
    for line in diff:
        print("    " + line)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    lib, map_path, sym_path = sys.argv[1:]
    nm = os.environ.get("NM", "nm")
    readelf = os.environ.get("READELF", "readelf")
    failures = 0

    def fail(msg):
        nonlocal failures
        failures += 1
        print("FAIL: " + msg)

    map_symbols, nodes = parse_map(map_path)
    if map_symbols.pop("\0dup", None) is not None:
        fail(f"{map_path}: a symbol is listed in two version nodes")
    if not nodes or nodes[0] != "LEADROUTE_1.0":
        fail(f"{map_path}: the first version node must be LEADROUTE_1.0, found {nodes}")
    committed = read_sym(sym_path)

    # 1. The committed list must be sorted, unique, and match the version script.
    if committed != sorted(set(committed)):
        fail(f"{sym_path} is not sorted and unique (use LC_ALL=C sort -u)")
        show_diff(committed, sorted(set(committed)), sym_path, "sorted")
    if sorted(map_symbols) != sorted(set(committed)):
        fail(f"{map_path} and {sym_path} disagree:")
        show_diff(sorted(set(committed)), sorted(map_symbols), sym_path, map_path)

    # 2. Exported symbols (nm) against the committed list.
    exported = set()
    for line in run(nm, "-D", "--defined-only", lib).splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        kind, name = parts[-2], parts[-1]
        base = re.split(r"@@?", name, maxsplit=1)[0]
        if kind == "A" and base in nodes:
            continue  # the version node itself
        if kind == "A" and base.startswith("LEADROUTE_"):
            fail(f"unknown version node '{base}' exported (not in {map_path})")
            continue
        exported.add(base)
    exported_list = sorted(exported)
    if exported_list != sorted(set(committed)):
        fail(f"exported symbols of {os.path.basename(lib)} differ from {sym_path}"
             " (- promised but missing, + exported but not promised):")
        show_diff(sorted(set(committed)), exported_list, sym_path, "nm -D --defined-only")

    for name in exported_list:
        if not name.startswith(PREFIX):
            fail(f"exported symbol '{name}' does not start with '{PREFIX}'")

    # 3. Versions and XXH leaks (readelf shows versions and undefined symbols).
    unversioned = []
    for line in run(readelf, "--dyn-syms", "-W", lib).splitlines():
        parts = line.split()
        # Num: Value Size Type Bind Vis Ndx Name
        if len(parts) < 8 or not parts[0].endswith(":") or not parts[0][:-1].isdigit():
            continue
        sym_type, bind, ndx, full = parts[3], parts[4], parts[6], parts[7]
        m = re.match(r"([^@]+)(@{1,2})?(\S+)?", full)
        name, at, version = m.group(1), m.group(2), m.group(3)
        if "xxh" in name.lower():
            if ndx == "UND":
                fail(f"'{name}' is imported: xxhash must be inlined (XXH_INLINE_ALL)")
            else:
                fail(f"'{name}' leaks from the library: xxhash must be inlined (XXH_INLINE_ALL)")
            continue
        if ndx == "UND" or bind == "LOCAL" or sym_type in ("SECTION", "FILE"):
            continue
        if name in nodes:
            continue
        expected_node = map_symbols.get(name)
        if version is None:
            unversioned.append(name)
        elif at != "@@":
            fail(f"'{name}' is only a non-default version '{name}@{version}'")
        elif expected_node is not None and version != expected_node:
            fail(f"'{name}' is in version node {version}, {map_path} puts it in {expected_node}")
        elif expected_node is None and version not in nodes:
            fail(f"'{name}' is in unknown version node {version}")

    if unversioned:
        fail(f"{len(unversioned)} symbol(s) exported without a version"
             f" (is the version script linked?): {', '.join(sorted(unversioned))}")

    # 4. Soname.
    sonames = re.findall(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", run(readelf, "-d", "-W", lib))
    if sonames != [SONAME]:
        fail(f"soname is {sonames or 'missing'}, expected ['{SONAME}']")

    if failures:
        print(f"{failures} ABI check(s) failed for {lib}")
        return 1
    print(f"ok: {len(exported_list)} symbols, all versioned as in {os.path.basename(map_path)}, "
          f"soname {SONAME}, no XXH symbols")
    return 0


if __name__ == "__main__":
    sys.exit(main())
