#!/usr/bin/env python3
"""Behaviour of the leadroute tool as a user sees it: exit codes, output and
messages of check, eval and route on the sample data and on small files made
here. Arguments: the tool, examples/data, tests/cli/expected-eval.csv
(expected-route.csv is read from the same directory)."""
import csv
import io
import json
import os
import subprocess
import sys
import tempfile

tool, data, expected = sys.argv[1], sys.argv[2], sys.argv[3]
expected_route = os.path.join(os.path.dirname(os.path.abspath(expected)), "expected-route.csv")
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
reps = os.path.join(data, "reps.csv")

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
expect(rc == 0 and out.splitlines()[1].startswith("x,vip,enterprise,"), f"stdin eval: {rc} {out!r} {err!r}")

# COLLECT with an aggregation adds an (aggregate) row
collect = table("#! hit_policy: collect\n#! aggregation: sum\nrule,region,out:points:number\n"
                "a,-,1.5\nb,EMEA,2\nc,APAC,4\n")
rc, out, err = run("eval", collect, "-", stdin="id,region\nl1,EMEA\n")
lines = out.splitlines()
expect(rc == 0 and lines == ["id,rule,points", "l1,a,1.5", "l1,b,2", "l1,(aggregate),3.5"],
       f"collect sum rows: {lines!r} {err!r}")

# route: the sample leads through the sample table and roster, in file order.
# expected-route.csv was generated once and checked row by row against
# routing.csv (first hit) and reps.csv:
# - L-1001 vip (score 95) -> enterprise; tier >=80:2 leaves priya and marcus
#   (sofia is tier 1); weighted, both at pass 0: the lower id, marcus.
# - L-1002, L-1023 strategic (5000+ employees): the rule names owner priya.
# - L-1003 ent-na, products analytics: priya and sofia sell it, marcus does
#   not; priya has the lower id and the same pass.
# - L-1010 ent-emea, crm: all three eligible; marcus and priya have won once,
#   sofia has the lowest pass.
# - L-1004, L-1005 dach-smb (de): jonas is the only active German speaker
#   (emma is inactive), so both go to him.
# - L-1006 emea-smb (en): round robin after jonas -> lars; L-1007 france (fr):
#   only camille; L-1009 emea-payments (en): after camille comes emma
#   (inactive), then jonas.
# - L-1008, L-1024 solutions (score 60-90 with analytics or ai): queue
#   solutions-desk; L-1018 japan: queue apac-partner; L-1022 (no region, no
#   country): queue data-quality; L-1025 catch-all names no target: unassigned.
# - americas round robin in id order diego, omar, rachel: L-1011 diego, L-1013
#   omar, L-1014 (postal 02139, us-east) rachel; L-1015 (fr) only omar;
#   L-1020 (pt) and L-1021 (es) only diego.
# - inside-sales least loaded, caps kenji 1, nina 3: L-1012 kenji (tie, lower
#   id), L-1016, L-1017, L-1019 nina (kenji full).
# - L-1027: employees 'lots' is not a number: unrouted, the tool goes on.
# - L-1028 (acmerobotics.com) and L-1029 (cascadefintech.com): americas is
#   owner first, and the accounts went to marcus (L-1001) and omar (L-1013).
# - L-1030 (it): no EMEA rep speaks Italian, fallback inside-sales is full:
#   the pool's policy queues it in sdr-overflow.
rc, out, err = run("route", "--table", routing, "--reps", reps, leads)
with open(expected_route, encoding="utf-8") as f:
    want = f.read()
expect(out == want, "route output differs from tests/cli/expected-route.csv:\n" + out)
expect(rc == 1, f"route with skipped rows and an unrouted lead exits 1, got {rc}")
for line in ("leads.csv:27:", "leads.csv:29:", "leads.csv:28: lead L-1027: unrouted: "):
    expect(line in err, f"route stderr names {line!r}: {err!r}")


def route_rows(text):
    return {row["id"]: row for row in csv.DictReader(io.StringIO(text))}


# --dedupe-field email: the second form of the same person stays with its rep;
# a lead without an email cannot be deduplicated, so it is unrouted
rc, out, err = run("route", "--table", routing, "--reps", reps, leads, "--dedupe-field", "email")
rows = route_rows(out)
expect(rc == 1, f"route --dedupe-field exits 1 (unrouted leads), got {rc}")
expect(rows.get("L-1029", {}).get("status") == "existing" and rows["L-1029"]["rep"] == "omar"
       and "ap@cascadefintech.com" in rows["L-1029"]["reason"], f"existing by email: {rows.get('L-1029')}")
expect(rows.get("L-1022", {}).get("status") == "unrouted" and "'email'" in rows["L-1022"]["reason"],
       f"no email, unrouted: {rows.get('L-1022')}")
expect("leads.csv:23: lead L-1022: unrouted: " in err, f"stderr names L-1022: {err!r}")

# --explain: a trace column of one-line JSON that agrees with the row
rc, out, err = run("route", "--table", routing, "--reps", reps, leads, "--explain")
expect(out.splitlines()[0] == "id,status,rep,pool,rule,reason,trace", f"explain header: {out[:80]!r}")
rows = route_rows(out)
expect(list(rows) == list(route_rows(want)), f"explain: the same leads as without it: {list(rows)}")
for lead_id, row in rows.items():
    try:
        trace = json.loads(row["trace"])
    except (ValueError, KeyError) as e:
        expect(False, f"trace of {lead_id} is not JSON ({e}): {row.get('trace')!r}")
        continue
    expect("\n" not in row["trace"], f"trace of {lead_id} is one line")
    expect(trace["lead_id"] == lead_id and trace["status"] == row["status"]
           and (trace["rep"] or "") == row["rep"] and (trace["pool"] or "") == row["pool"]
           and (trace["rule"] or "") == row["rule"] and trace["reason"] == row["reason"],
           f"trace of {lead_id} agrees with its row: {row}")
t = json.loads(rows["L-1030"]["trace"]) if "L-1030" in rows else {}
verdicts = {(c["rep"], c["verdict"]) for c in t.get("candidates", [])}
expect(t.get("queue") == "sdr-overflow" and t.get("pools") == ["emea", "inside-sales"]
       and {("jonas", "lacks skill"), ("emma", "excluded"), ("nina", "at capacity")} <= verdicts,
       f"L-1030 trace: {t}")
t = json.loads(rows["L-1001"]["trace"]) if "L-1001" in rows else {}
verdicts = {(c["rep"], c["verdict"]) for c in t.get("candidates", [])}
expect(verdicts == {("marcus", "chosen"), ("priya", "eligible"), ("sofia", "tier")}
       and t.get("strategy") == "weighted round robin", f"L-1001 trace: {t}")

# route reads leads from stdin with '-'
rc, out, err = run("route", "--table", routing, "--reps", reps, "-",
                   stdin="id,region,country,language,score\nw1,EMEA,FR,fr,40\n")
expect(rc == 0 and out.splitlines()[1:] == ["w1,assigned,camille,emea,france,\"pool emea, round robin among 1 "
                                            "eligible of 4 members\""], f"stdin route: {rc} {out!r} {err!r}")

# route errors: a file that cannot be read is exit 2 with one clear line
missing = os.path.join(data, "no-such-reps.csv")
rc, out, err = run("route", "--table", routing, "--reps", missing, leads)
expect(rc == 2 and out == "" and err.count("\n") == 1 and missing in err and "cannot open" in err,
       f"missing reps file: {rc} {out!r} {err!r}")

bad_reps = table("#! pools\nid,strategy\nteam,round_robin\n#! reps\nid,name,pools,weight\n"
                 "ann,Ann,team,2\nbob,Bob,team,heavy\n")
rc, out, err = run("route", "--table", routing, "--reps", bad_reps, leads)
expect(rc == 2 and out == "" and err.count("\n") == 1 and f"{bad_reps}:7:14:" in err and "heavy" in err,
       f"malformed reps file names file:line:col: {rc} {out!r} {err!r}")

unknown_pool = table("#! reps\nid,pools\nann,smb\n")
rc, out, err = run("route", "--table", routing, "--reps", unknown_pool, "-", stdin="id,region\nu1,EMEA\n")
expect(rc == 1 and out.splitlines()[1].startswith("u1,unrouted,,,emea-smb,")
       and "pool 'emea'" in out and "lead u1: unrouted:" in err,
       f"a pool the roster lacks leaves the lead unrouted: {rc} {out!r} {err!r}")

# route usage: exit 2 and a hint, nothing on stdout
for args, message in (
        (("--reps", reps, leads), "expected --table TABLE"),
        (("--table", routing, leads), "expected --reps REPS.csv"),
        (("--table", routing, "--reps", reps), "expected a LEADS.csv file"),
        (("--table", routing, "--reps", reps, leads, leads), f"unexpected argument '{leads}'"),
        (("--table", routing, "--reps", reps, leads, "--dedupe-field"), "--dedupe-field needs a value"),
        (("--table", routing, "--reps", reps, leads, "--dedupe-field="), "--dedupe-field needs a field name"),
        (("--table", routing, "--reps", reps, leads, "--seconds", "1"), "unknown option '--seconds'"),
        (("--table", "-", "--reps", "-", leads), "only one of TABLE, REPS.csv and LEADS.csv can be '-'")):
    rc, out, err = run("route", *args)
    expect(rc == 2 and out == "" and message in err and "leadroute route --help" in err,
           f"route {' '.join(args)}: {rc} {out!r} {err!r}")
rc, out, err = run("route", "--help")
expect(rc == 0 and out.startswith("usage: leadroute route --table TABLE --reps REPS.csv LEADS.csv"),
       f"route --help: {rc} {out!r}")
rc, out, err = run("--help")
expect(rc == 0 and "  route --table TABLE --reps REPS.csv LEADS.csv" in out, f"--help lists route: {out!r}")

for path in (shadowed, broken, collect, bad_reps, unknown_pool):
    os.unlink(path)

for f in failures:
    print("FAIL:", f)
print("cli checks failed" if failures else "cli checks passed")
sys.exit(1 if failures else 0)
