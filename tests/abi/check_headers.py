#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check that the public headers are complete and consistently wired.

Usage: check_headers.py --sym SYMBOL_LIST INCLUDE_DIR INSTALLED_HEADER...

Every header in INCLUDE_DIR/leadroute/ must be installed (listed in
include/meson.build), included by the umbrella leadroute.h, have an include
guard, and wrap its declarations in extern "C" for C++ callers. Every
public struct with a body must have a frozen copy in tests/abi/layout_v*.c.
Every function must have a doxygen comment right above it that says how
threads may call it and, when it returns int, what it returns. The
functions the headers declare must be the committed symbol list
(lib/leadroute.sym, which the 'symbols' test holds the library to).
"""

import os
import re
import sys


def main():
    if len(sys.argv) < 5 or sys.argv[1] != "--sym":
        sys.exit(__doc__)
    with open(sys.argv[2], encoding="utf-8") as f:
        listed = {line.strip() for line in f if line.strip() and not line.startswith("#")}
    inc_dir = os.path.join(sys.argv[3], "leadroute")
    installed = {os.path.basename(p) for p in sys.argv[4:]}
    on_disk = {f for f in os.listdir(inc_dir) if f.endswith(".h")}
    failures = []

    for name in sorted(on_disk - installed):
        failures.append(f"{name} is in include/leadroute/ but not installed (include/meson.build)")
    for name in sorted(installed - on_disk):
        failures.append(f"{name} is installed but missing from include/leadroute/")

    with open(os.path.join(inc_dir, "leadroute.h"), encoding="utf-8") as f:
        umbrella = f.read()
    included = set(re.findall(r'#\s*include\s+["<](?:leadroute/)?([\w.]+\.h)[">]', umbrella))
    for name in sorted(on_disk - {"leadroute.h"} - included):
        failures.append(f"{name} is not included by the umbrella header leadroute.h")

    for name in sorted(on_disk):
        with open(os.path.join(inc_dir, name), encoding="utf-8") as f:
            text = f.read()
        guard = re.search(r"#ifndef\s+(\w+)\s*\n\s*#define\s+(\w+)", text)
        if not guard or guard.group(1) != guard.group(2):
            failures.append(f"{name}: no include guard (#ifndef X / #define X)")
        if re.search(r"LEADROUTE_API", text) and 'extern "C"' not in text:
            failures.append(f'{name}: declares functions but has no extern "C" block for C++')

    # Transparent structs are ABI: each needs a frozen layout.
    here = os.path.dirname(os.path.abspath(__file__))
    frozen = ""
    for f in sorted(os.listdir(here)):
        if re.fullmatch(r"layout_v\d+\.c", f):
            with open(os.path.join(here, f), encoding="utf-8") as fh:
                frozen += fh.read()
    for name in sorted(on_disk):
        with open(os.path.join(inc_dir, name), encoding="utf-8") as fh:
            text = fh.read()
        for struct in re.findall(r"\bstruct\s+(leadroute_\w+)\s*\{", text):
            if not re.search(r"\bstruct\s+frozen_%s_v\d+\s*\{" % struct, frozen):
                failures.append(f"{name}: struct {struct} has no frozen copy "
                                f"(frozen_{struct}_v1) in tests/abi/layout_v*.c")

    # Every function is documented where it is declared: a doxygen comment
    # right above it that says who may call it from which thread, and, for
    # one returning int, what it returns.
    functions = 0
    declared = set()
    for name in sorted(on_disk):
        with open(os.path.join(inc_dir, name), encoding="utf-8") as fh:
            text = fh.read()
        for m in re.finditer(r"^LEADROUTE_API\s+([^;(]*?)\b(leadroute_\w+)\s*\(", text, re.M):
            functions += 1
            ret, func = m.group(1).strip(), m.group(2)
            declared.add(func)
            before = text[:m.start()].rstrip()
            comment = before[before.rfind("/*"):] if before.endswith("*/") else ""
            if not comment.startswith("/**"):
                failures.append(f"{name}: {func} has no doxygen comment (/** ... */) right above it")
                continue
            if not re.search(r"thread", comment, re.I):
                failures.append(f"{name}: {func}: the comment does not say how threads may call it")
            if ret == "int" and not re.search(r"@return|LEADROUTE_E[A-Z]|[Nn]ever fails", comment):
                failures.append(f"{name}: {func}: the comment does not say what it returns")

    for func in sorted(declared - listed):
        failures.append(f"{func} is declared in a public header but not in the symbol list {sys.argv[2]}")
    for func in sorted(listed - declared):
        failures.append(f"{func} is in the symbol list {sys.argv[2]} but no public header declares it")

    for f in failures:
        print("FAIL: " + f)
    if failures:
        return 1
    print(f"ok: {len(on_disk)} public headers installed, in the umbrella, guarded, C++-ready; "
          f"{functions} functions documented with their threads and returns, the symbol list's own")
    return 0


if __name__ == "__main__":
    sys.exit(main())
