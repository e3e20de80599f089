#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compare the ABI of the built libleadroute with the committed baseline.

Usage: check_abidiff.py ABIDIFF BASELINE LIBRARY SUPPRESSIONS

Runs abidiff BASELINE LIBRARY with the suppressions (members appended at the
end of a versioned public struct are allowed, nothing else) and fails on any
difference it still reports: a removed or changed function, a struct member
inserted, removed or retyped, an enum value renumbered, ... A deliberate
change (a release that adds functions) regenerates the baseline with
tests/abi/update_baseline.sh.

Exits 77 (skipped) when ABIDIFF is empty or not found (Debian: abigail-tools),
or when LIBRARY carries no DWARF debug info, without which abidiff sees
symbols only (build with -Dbuildtype=debugoptimized, the default, or debug).
"""

import os
import shutil
import struct
import subprocess
import sys

SKIP = 77


def section_names(path):
    """Names of the ELF sections of `path` (32/64-bit, either byte order)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF":
        raise ValueError(f"{path} is not an ELF file")
    is64 = data[4] == 2
    end = "<" if data[5] == 1 else ">"
    if is64:
        shoff, = struct.unpack_from(end + "Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", data, 0x3A)
    else:
        shoff, = struct.unpack_from(end + "I", data, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", data, 0x2E)

    def header(i):
        base = shoff + i * shentsize
        if is64:
            name, = struct.unpack_from(end + "I", data, base)
            offset, = struct.unpack_from(end + "Q", data, base + 0x18)
        else:
            name, = struct.unpack_from(end + "I", data, base)
            offset, = struct.unpack_from(end + "I", data, base + 0x10)
        return name, offset

    _, strtab = header(shstrndx)
    names = []
    for i in range(shnum):
        name, _ = header(i)
        stop = data.index(b"\0", strtab + name)
        names.append(data[strtab + name:stop].decode("ascii", "replace"))
    return names


def main(argv):
    if len(argv) != 5:
        sys.exit(__doc__)
    abidiff, baseline, library, suppressions = argv[1:]
    exe = shutil.which(abidiff) if abidiff else None
    if exe is None:
        print("SKIP: abidiff not found (Debian package abigail-tools); the ABI baseline is not checked")
        return SKIP
    names = section_names(library)
    if ".debug_info" not in names and ".zdebug_info" not in names:
        print(f"SKIP: {library} has no debug info (.debug_info): abidiff would compare symbols only. "
              "Build with -Dbuildtype=debugoptimized (the default) or -Dbuildtype=debug to check the ABI")
        return SKIP
    for path in (baseline, suppressions):
        if not os.path.isfile(path):
            sys.exit(f"error: {path} not found")

    # No --headers-dir: the baseline holds only what the public headers
    # reach, and a headers directory that fails to match the relative paths
    # in the debug info would silently turn every type private (unchecked).
    # Opaque types, declared in the baseline and defined in the library, are
    # filtered by abidiff's default rules.
    cmd = [exe, "--no-show-locs", "--suppressions", suppressions, baseline, library]
    print("+", " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    rc = proc.returncode
    if rc == 0:
        print("OK: the ABI matches the baseline (appended members of versioned structs allowed)")
        return 0
    # abidiff's exit status is a bit mask
    what = []
    if rc & 1:
        what.append("abidiff failed")
    if rc & 2:
        what.append("abidiff was called wrongly")
    if rc & 4:
        what.append("the ABI changed")
    if rc & 8:
        what.append("the change is incompatible")
    print(f"FAIL: abidiff exit {rc}: {', '.join(what) or 'unknown status'}.")
    if rc & 12:
        print("A change the project means to make (new functions in a new version node) needs a new baseline: "
              "tests/abi/update_baseline.sh, and a review of the diff of tests/abi/libleadroute.abi.")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
