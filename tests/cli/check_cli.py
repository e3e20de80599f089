#!/usr/bin/env python3
"""Behaviour of the leadroute tool as a user sees it: exit codes, output and
messages of check and eval on the sample data and on small tables made here."""
import os
import subprocess
import sys
import tempfile

tool, data, expected = sys.argv[1], sys.argv[2], sys.argv[3]
failures = []


def run(*args, stdin=None):
    p = subprocess.run([tool, *args], input=stdin, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def expect(cond, what):
    if not cond:
        failures.append(what)


def table(text):
    f = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False)
    f.write(text)
    f.close()
    return f.name


routing = os.path.join(data, "routing.csv")
leads = os.path.join(data, "leads.csv")

# check: 0 when clean, 1 with lint findings, 2 on errors
rc, out, err = run("check", routing)
expect(rc == 0, f"check on the sample table exits 0, got {rc}: {err}")
expect("20 rules" in out and "hit policy first" in out, f"check summary: {out!r}")

shadowed = table("rule,region,out:pool\na,-,x\nb,EMEA,y\n")
rc, out, err = run("check", shadowed)
expect(rc == 1, f"check with a shadowed rule exits 1, got {rc}")
expect(f"{shadowed}:3: rule 'b' can never fire: rule 'a' (line 2)" in out, f"shadowed message: {out!r}")

broken = table("rule,employees:number,out:pool\nr1,>= ten,a\n")
rc, out, err = run("check", broken)
expect(rc == 2, f"check on a broken table exits 2, got {rc}")
expect(err.count("\n") == 1 and f"{broken}:2:" in err and "expected a number" in err,
       f"one clear error line with file:line: {err!r}")

# eval: the sample routes exactly as recorded; bad rows are named and skipped
rc, out, err = run("eval", routing, leads)
with open(expected, encoding="utf-8") as f:
    want = f.read()
expect(out == want, "eval output differs from tests/cli/expected-eval.csv:\n" + out)
expect(rc == 1, f"eval with skipped leads exits 1, got {rc}")
for line in ("leads.csv:27:", "leads.csv:28:", "leads.csv:29:"):
    expect(line in err, f"stderr names {line}: {err!r}")

# eval reads leads from stdin with '-'
rc, out, err = run("eval", routing, "-", stdin="id,region,score\nx,EMEA,95\n")
expect(rc == 0 and out.splitlines()[1].startswith("x,vip,inbound-aces,"), f"stdin eval: {rc} {out!r} {err!r}")

# COLLECT with an aggregation adds an (aggregate) row
collect = table("#! hit_policy: collect\n#! aggregation: sum\nrule,region,out:points:number\n"
                "a,-,1.5\nb,EMEA,2\nc,APAC,4\n")
rc, out, err = run("eval", collect, "-", stdin="id,region\nl1,EMEA\n")
lines = out.splitlines()
expect(rc == 0 and lines == ["id,rule,points", "l1,a,1.5", "l1,b,2", "l1,(aggregate),3.5"],
       f"collect sum rows: {lines!r} {err!r}")

for path in (shadowed, broken, collect):
    os.unlink(path)

for f in failures:
    print("FAIL:", f)
print("cli checks failed" if failures else "cli checks passed")
sys.exit(1 if failures else 0)
