#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Keep the programs in the documentation working and their output true.

Usage:
  check_snippets.py extract DOC OUT.c...   write DOC's complete C programs (fenced
                                           c blocks with a main function), in order,
                                           one per OUT; fails unless DOC has exactly
                                           that many, so a new one gets built too
  check_snippets.py run DOC N PROGRAM      run PROGRAM, built from DOC's Nth C program
                                           (from 1), and compare what it prints with
                                           what DOC says it prints
  check_snippets.py python DOC N           run DOC's Nth fenced python block with this
                                           interpreter in the working directory, and
                                           compare the same way
  check_snippets.py fragments DOC OUT.c    write DOC's C fragments (fenced c blocks without
                                           a main) into OUT as functions, to be compiled,
                                           not run; each fragment follows a comment
                                           `<!-- c-fragment: PARAMETERS -->` naming, as a C
                                           parameter list, what it takes from its context
                                           (`void` for nothing), and fails without one

What a program prints is the fenced block that follows it, before the next
heading or program: either a sh block with a line `./name  # output` (the
whole output is that one line), or a plain block of the output's lines,
where a last line `...` lets the program print more after them. A program
with no such block fails: the documentation must say what it prints.
"""

import os
import re
import subprocess
import sys

FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)


def blocks(text):
    """(language, body, start, end) of every fenced block."""
    return [(m.group(1), m.group(2), m.start(), m.end()) for m in FENCE.finditer(text)]


def programs(text, kind):
    """The fenced blocks of `kind`: C ones only when they hold a main."""
    all_blocks = blocks(text)
    found = []
    for i, (lang, body, _, end) in enumerate(all_blocks):
        if kind == "c" and lang == "c" and re.search(r"\bint\s+main\s*\(", body):
            found.append((body, end, all_blocks[i + 1:]))
        elif kind == "python" and lang == "python":
            found.append((body, end, all_blocks[i + 1:]))
    return found


CONTEXT = re.compile(r"<!--\s*c-fragment:\s*([^<>]*?)\s*-->\s*\Z")


def fragments(doc, text):
    """The C source of DOC's fragments: each one a function whose parameters
    are its context, with #line directives pointing back at DOC."""
    includes, functions = [], []
    n = 0
    for lang, body, start, _ in blocks(text):
        if lang != "c" or re.search(r"\bint\s+main\s*\(", body):
            continue
        n += 1
        line = text.count("\n", 0, start) + 2  # the fence's line, then the body's first
        m = CONTEXT.search(text[:start])
        if not m:
            sys.exit(f"{doc}:{line - 1}: a C fragment needs `<!-- c-fragment: PARAMETERS -->` "
                     "on the line before it (what it takes from its context, or void)")
        lines = body.split("\n")
        kept = []
        for i, ln in enumerate(lines):
            if ln.startswith("#include"):
                includes.append(f'#line {line + i} "{doc}"\n{ln}')
                kept.append("")
            else:
                kept.append(ln)
        name = f"doc_fragment_{n}"
        functions.append(f"int {name}({m.group(1)});\nint {name}({m.group(1)})\n{{\n"
                         f'#line {line} "{doc}"\n' + "\n".join(kept) + "\n    return 0;\n}\n")
    if n == 0:
        sys.exit(f"{doc} has no C fragment: drop it from tests/docs/meson.build")
    head = (f"/* {n} fragment(s) from {os.path.basename(doc)}: edit them there. Compiled, not run. */\n"
            "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
            "#include <leadroute/leadroute.h>\n")
    return head + "\n".join(includes) + "\n\n" + "\n".join(functions)


def documented_output(text, end, following):
    """(lines, exact) that the program is documented to print, or None."""
    next_heading = re.compile(r"^#+ ", re.M).search(text, end)
    limit = next_heading.start() if next_heading else len(text)
    for lang, body, start, _ in following:
        if start >= limit or lang in ("c", "python"):
            return None
        if lang == "sh":
            m = re.search(r"^\./\S+\s+#\s*(.+)$", body, re.M)
            if m:
                return [m.group(1).rstrip()], True
            continue
        if lang == "":
            lines = body.rstrip("\n").split("\n")
            if lines and lines[-1] == "...":
                return lines[:-1], False
            return lines, True
    return None


def compare(doc, n, kind, output, expected):
    if expected is None:
        sys.exit(f"{doc}: {kind} program {n} has no documented output (a plain block after it)")
    want, exact = expected
    got = output.rstrip("\n").split("\n") if output.strip() else []
    ok = got == want if exact else got[:len(want)] == want
    if not ok:
        sys.exit(f"{doc}: {kind} program {n} printed\n  " + "\n  ".join(got) +
                 "\nwhere the documentation says\n  " + "\n  ".join(want) + ("" if exact else "\n  ..."))
    print(f"{doc}: {kind} program {n}: output as documented ({len(want)} line(s))")


def run(cmd, doc, n, kind):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    if p.returncode != 0:
        sys.exit(f"{doc}: {kind} program {n} exited with {p.returncode}\n{p.stdout}{p.stderr}")
    if p.stderr:
        sys.exit(f"{doc}: {kind} program {n} wrote to stderr:\n{p.stderr}")
    return p.stdout


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in ("extract", "run", "python", "fragments"):
        sys.exit(__doc__)
    cmd, doc = sys.argv[1], sys.argv[2]
    with open(doc, encoding="utf-8") as f:
        text = f.read()
    name = os.path.basename(doc)
    if cmd == "fragments":
        if len(sys.argv) != 4:
            sys.exit(__doc__)
        source = fragments(doc, text)
        with open(sys.argv[3], "w", encoding="utf-8") as f:
            f.write(source)
        return
    if cmd == "extract":
        found = programs(text, "c")
        outs = sys.argv[3:]
        if len(found) != len(outs):
            sys.exit(f"{doc} has {len(found)} C program(s) and the build expects {len(outs)}: "
                     "list each in tests/docs/meson.build")
        for (body, _, _), out in zip(found, outs):
            with open(out, "w", encoding="utf-8") as f:
                f.write(f"/* from {name}: edit it there */\n" + body)
        return
    n = int(sys.argv[3])
    kind = "C" if cmd == "run" else "python"
    found = programs(text, "c" if cmd == "run" else "python")
    if not 1 <= n <= len(found):
        sys.exit(f"{doc} has no {kind} program {n} (it has {len(found)})")
    body, end, following = found[n - 1]
    if cmd == "run":
        if len(sys.argv) != 5:
            sys.exit(__doc__)
        output = run([sys.argv[4]], doc, n, kind)
    else:
        output = run([sys.executable, "-c", body], doc, n, kind)
    compare(doc, n, kind, output, documented_output(text, end, following))


if __name__ == "__main__":
    main()
