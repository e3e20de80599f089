#!/usr/bin/env python3
"""Behaviour of the leadroute tool as a user sees it: exit codes, output and
messages of check, eval, route, tick, ack, explain and simulate on the sample
data and on small files made here. Arguments: the tool, examples/data,
tests/cli/expected-eval.csv (expected-route.csv is read from the same
directory). The tool runs in a scratch directory, where the default state
database lands."""
import csv
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

tool, data, expected = (os.path.abspath(a) for a in sys.argv[1:4])
expected_route = os.path.join(os.path.dirname(os.path.abspath(expected)), "expected-route.csv")
failures = []


workdir = tempfile.TemporaryDirectory()


def run(*args, stdin=None):
    p = subprocess.run([tool, *args], input=stdin, capture_output=True, text=True, cwd=workdir.name)
    return p.returncode, p.stdout, p.stderr


def expect(cond, what):
    if not cond:
        failures.append(what)


def table(text):
    f = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False)
    f.write(text)
    f.close()
    return f.name


def eval_into_closed_pipe(table_path, leads_path):
    """eval whose output is closed after its first line: (exit status, that line, stderr)."""
    with tempfile.TemporaryFile() as err_file:
        p = subprocess.Popen([tool, "eval", table_path, leads_path], stdout=subprocess.PIPE, stderr=err_file,
                             cwd=workdir.name)
        first_line = p.stdout.readline()
        p.stdout.close()
        rc = p.wait(timeout=60)
        err_file.seek(0)
        return rc, first_line, err_file.read().decode("utf-8", "replace")


routing = os.path.join(data, "routing.csv")
leads = os.path.join(data, "leads.csv")
reps = os.path.join(data, "reps.csv")

# check: 0 when clean, 1 with lint findings, 2 on errors
rc, out, err = run("check", routing)
expect(rc == 0, f"check on the sample table exits 0, got {rc}: {err}")
expect("20 rules" in out and "hit policy first" in out, f"check summary: {out!r}")

# route and simulate note pools the table and the roster disagree on: a pool a
# rule names that the roster lacks, a roster pool nothing reaches (a misspelt
# pool in a rep's pools cell makes one); a fallback reaches its pool
mismatched_table = table("rule,region,out:owner,out:pool\nr1,EMEA,,emea\nr2,NA,,nam\nr2b,LATAM,,nam\n"
                         "r2c,APAC,carl,apac\nr2d,LATAM,a,\nr3,-,,apac\n")
mismatched_reps = table("#! pools\nid,strategy,fallback\nemea,rr,spill\nspill,rr,\norphan,rr,\n"
                        "#! reps\nid,pools\na,emea\nb,\"smbb, emea\"\nc,apac\nd,spill\n")
mismatched_leads = table("id,region\nl1,NA\nl2,EMEA\n")
for command in ("route", "simulate"):
    rc, out, err = run(command, "--no-state", "--table", mismatched_table, "--reps", mismatched_reps,
                       mismatched_leads)
    notes = [line for line in err.splitlines() if ("pool '" in line or "owner '" in line) and "lead l1" not in line]
    expect(rc == 1 and notes == [
        f"{mismatched_table}: rule r2 (and others) names pool 'nam', which {mismatched_reps} does not define: "
        "leads it matches are unrouted",
        f"{mismatched_table}: rule r2c names owner 'carl', who is not a rep in {mismatched_reps}: leads it matches "
        "go to the rule's pool or queue, else stay unassigned",
        f"{mismatched_reps}: no rule of {mismatched_table} names pool 'orphan', nor does a fallback or escalation: "
        "its reps get no leads through it",
        f"{mismatched_reps}: no rule of {mismatched_table} names pool 'smbb', nor does a fallback or escalation: "
        "its reps get no leads through it"], f"{command}: notes on mismatched pools: {rc} {err!r}")
# none for the sample table and roster
rc, out, err = run("simulate", "--no-state", "--table", routing, "--reps", reps, leads)
expect("pool '" not in err and "owner '" not in err, f"no pool or owner notes for the sample data: {err!r}")
# simulate tallies reasons whole: long non-ASCII queue names, alike for their first 1,200 bytes
long_queues = table("#! hit_policy: first\nrule,kind,out:queue\n" +
                    "".join(f'r{k},{k},"{"€" * 400}{k}"\n' for k in "ab"))
long_leads = table("id,kind\nQ1,a\nQ2,b\nQ3,a\n")
long_reps = table("#! reps\nid,pools\nann,p\n")
p = subprocess.run([tool, "simulate", "--no-state", "--table", long_queues, "--reps", long_reps, long_leads,
                    "--format", "jsonl"], capture_output=True, cwd=workdir.name)
try:
    got = {r["name"]: r["leads"] for r in map(json.loads, p.stdout.decode().splitlines()) if r["kind"] == "reason"}
except (UnicodeDecodeError, ValueError) as e:
    got = repr(e)
expect(p.returncode == 0 and isinstance(got, dict) and
       got == {f"queued: rule r{k} gives queue {'€' * 400}{k}": 2 if k == "a" else 1 for k in "ab"},
       f"simulate tallies long reasons whole: {p.returncode} {str(got)[:300]} {p.stderr[:300]!r}")

# 'out:' forgotten: a note on stderr, the exit status as lint says
forgot_out = table("rule,region,pool\nr1,EMEA,emea\nr2,-,other\n")
rc, out, err = run("check", forgot_out)
# (rc 1: read as an input, 'pool' leaves leads that no rule matches)
expect(rc == 1 and "pool=zz-other" in out and err == f"{forgot_out}: column 'pool' is an input, read from the lead; an output the rules give "
       "is written 'out:pool'\n", f"check notes an input named pool: {rc} {err!r}")
no_outputs = table("rule,region\nr1,-\n")
rc, out, err = run("check", no_outputs)
expect(rc == 0 and err == f"{no_outputs}: the table has no output column (a header cell such as 'out:pool'): a hit "
       "gives nothing\n", f"check notes a table without outputs: {rc} {err!r}")
rc, out, err = run("check", routing)
expect(rc == 0 and err == "", f"no notes for the sample table: {err!r}")

shadowed = table("rule,region,out:pool\na,-,x\nb,EMEA,y\n")
rc, out, err = run("check", shadowed)
expect(rc == 1, f"check with a shadowed rule exits 1, got {rc}")
expect(f"{shadowed}:3: rule 'b' can never fire: rule 'a' (line 2)" in out, f"shadowed message: {out!r}")

broken = table("rule,employees:number,out:pool\nr1,>= ten,a\n")
rc, out, err = run("check", broken)
expect(rc == 2, f"check on a broken table exits 2, got {rc}")
expect(err.count("\n") == 1 and f"{broken}:2:" in err and "expected a number" in err,
       f"one clear error line with file:line: {err!r}")

# the rule past the limit (4,000,000) is named at its line, like every other limit
too_many = table("out:o\n" + "x\n" * 4000001)
rc, out, err = run("check", too_many)
expect(rc == 2 and err == f"leadroute: {too_many}:4000002:1: more than 4000000 rules\n",
       f"check names the rule past the limit: {rc} {err!r}")
os.unlink(too_many)


def pinned_triples(columns, rules, seed, header=""):
    """Bool columns, and rules that each pin three of them: whether some lead
    matches no rule is a satisfiability question, which a table this size
    leaves the no-match search unable to decide within its bound."""
    def draw():
        nonlocal seed
        seed ^= (seed << 13) & 0xFFFFFFFFFFFFFFFF
        seed ^= seed >> 7
        seed ^= (seed << 17) & 0xFFFFFFFFFFFFFFFF
        return seed
    lines = [header + "rule," + ",".join(f"c{c}:bool" for c in range(columns)) + ",out:o"]
    for r in range(rules):
        pins = []
        while len(pins) < 3:
            c = draw() % columns
            if c not in pins:
                pins.append(c)
        cells = ["-"] * columns
        for c in pins:
            cells[c] = "true" if draw() % 2 else '"false, null"'
        lines.append(f"r{r}," + ",".join(cells) + ",x")
    return "\n".join(lines) + "\n"


# an undecided no-match search is a notice, not a finding: exit 0 on it alone
undecided = table(pinned_triples(100, 430, 0x9E3779B97F4A7C15, "#! hit_policy: collect\n"))
rc, out, err = run("check", undecided)
expect(rc == 0, f"check with only an undecided no-match search exits 0, got {rc}: {out[-400:]!r} {err!r}")
expect("lint stopped looking for a lead no rule matches after 262144 steps" in out
       and "0 lint findings, 1 notice" in out, f"the notice and the summary: {out[-400:]!r}")
rc, out, err = run("check", undecided, "--format", "csv")
rows = list(csv.DictReader(io.StringIO(out)))
expect(rc == 0 and [r["kind"] for r in rows] == ["no_match_undecided"] and "0 lint findings, 1 notice" in err,
       f"check --format csv with only the notice: {rc} {out!r} {err!r}")
# beside a finding, the finding decides
with open(undecided, "a", encoding="utf-8") as f:
    f.write("late," + ",".join(["true"] * 100) + ",y\n")
with open(undecided, "r+", encoding="utf-8") as f:
    text = f.read().replace("#! hit_policy: collect", "#! hit_policy: priority\n#! priority: o = x", 1)
    f.seek(0)
    f.write(text)
rc, out, err = run("check", undecided)
expect(rc == 1 and "1 lint finding, 1 notice" in out and "'late': output 'o' value 'y' is not in its priority list" in out,
       f"check with a finding and a notice exits 1: {rc} {out[-600:]!r} {err!r}")
os.unlink(undecided)
# so is a shadow check stopped at its bound: 'j' fires only on the lead with
# every field missing, which the search would reach after thousands of steps
cut_short = table("rule,c1,c2,c3,c4,c5,c6,c7,c8,out:o\n"
                  + "".join(f'r{i},"a, b, c",-,-,-,-,-,-,{v},x\n' for i, v in enumerate(("a", "b", "c", "null")))
                  + "j" + ',"a, b, c, null"' * 8 + ",y\nall,-,-,-,-,-,-,-,-,z\n")
rc, out, err = run("check", cut_short, "--format", "csv")
rows = list(csv.DictReader(io.StringIO(out)))
expect(rc == 0 and [(r["kind"], r["rule"], r["line"]) for r in rows] == [("shadowed_undecided", "j", "6")]
       and "4096 steps" in rows[0]["message"] and "0 lint findings, 1 notice" in err,
       f"check with only an undecided shadow check exits 0: {rc} {out!r} {err!r}")
os.unlink(cut_short)
# and so is an overlap check that ran out of its budget of 10^9 words: each
# rule's range spans 2,000 value classes, so comparing it with the rules
# before it costs far more than 10,001 rules suggest. The keys keep the
# ranges apart, but the catch-all at the end overlaps every rule, and the
# notice is all that says it was not compared.
out_of_words = table("#! hit_policy: unique\nrule,n:number,key,out:o\n"
                     + "".join(f"r{i},[{i}..{i + 2000}),k{i},x\n" for i in range(10000)) + "all,-,-,y\n")
rc, out, err = run("check", out_of_words, "--format", "csv")
rows = list(csv.DictReader(io.StringIO(out)))
expect(rc == 0 and [r["kind"] for r in rows] == ["overlap_undecided"] and rows[0]["rule"].startswith("r")
       and rows[0]["line"] == str(int(rows[0]["rule"][1:]) + 3) and rows[0]["other_rule"] == ""
       and rows[0]["example"] == "" and "later rules overlap earlier rules" in rows[0]["message"]
       and "its budget of 1000000000 words of bitset work ran out" in rows[0]["message"]
       and "0 lint findings, 1 notice" in err,
       f"check with only an overlap check out of words exits 0: {rc} {out!r} {err!r}")
os.unlink(out_of_words)
# findings past the 1000 lint keeps are counted in a last notice, and check
# still fails on the findings
capped = table("#! hit_policy: priority\n#! priority: p = a\nrule,x,out:p\n"
               + "".join(f"r{i},-,z\n" for i in range(1003)))
rc, out, err = run("check", capped, "--format", "csv")
rows = list(csv.DictReader(io.StringIO(out)))
expect(rc == 1 and len(rows) == 1001 and rows[-1]["kind"] == "truncated" and rows[-1]["rule"] == "r1000"
       and rows[-1]["line"] == "1004" and "left out 3 more, the first about rule 'r1000'" in rows[-1]["message"]
       and "1000 lint findings (and more left out), 1 notice" in err,
       f"check with findings past the cap: {rc} {out[-400:]!r} {err!r}")
os.unlink(capped)

# eval: the sample routes exactly as recorded; bad rows are named and skipped
rc, out, err = run("eval", routing, leads)
with open(expected, encoding="utf-8") as f:
    want = f.read()
expect(out == want, "eval output differs from tests/cli/expected-eval.csv:\n" + out)
expect(rc == 1, f"eval with skipped leads exits 1, got {rc}")
# in the file's line order: skipped rows 27 and 29 around the lead of line 28
positions = [err.find(line) for line in ("leads.csv:27:", "leads.csv:28:", "leads.csv:29:")]
expect(-1 not in positions and positions == sorted(positions), f"stderr names lines 27, 28, 29 in order: {err!r}")

# eval reads leads from stdin with '-'
rc, out, err = run("eval", routing, "-", stdin="id,region,score\nx,EMEA,95\n")
expect(rc == 0 and out.splitlines()[1].startswith("x,vip,enterprise,"), f"stdin eval: {rc} {out!r} {err!r}")

# eval exits 1 when rows were skipped as unreadable, even if every lead read
# evaluates: broken quoting, a wrong number of cells, and a quoted cell over
# 4096 bytes (skipped whole, as no line in it is a row of its own)
skipped_rows = table("id,region,score\nx1,EMEA,95\nx2,\"EMEA\"x,10\nx3,NA\n"
                     "x4,\"" + "y" * 4000 + "\nx9,EMEA\n" + "y" * 200 + "\",5\nx5,APAC,40\n")
rc, out, err = run("eval", routing, skipped_rows)
skipped = [line for line in err.splitlines() if line.endswith(" (row skipped)")]
expect(rc == 1 and [line.split(",")[0] for line in out.splitlines()] == ["id", "x1", "x5"]
       and skipped == [f"{skipped_rows}:3:10: unexpected text after closing quote (expected ',' or end of line) "
                       "(row skipped)",
                       f"{skipped_rows}:4: row has 2 cells, the header has 3 (row skipped)",
                       f"{skipped_rows}:5:4: field longer than 4096 bytes (row skipped)"],
       f"eval with rows skipped exits 1 and names them: {rc} {out!r} {skipped!r}")
rc, out, err = run("eval", routing, "-", stdin="id,region,score\nx1,EMEA,95\nx5,APAC,40\n")
expect(rc == 0 and "(row skipped)" not in err, f"the same leads without those rows: exit 0: {rc} {err!r}")
os.unlink(skipped_rows)

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
# - emea round robin keeps a line of its members, in id order at first:
#   camille, emma, jonas, lars; each rep served goes to its back. After
#   L-1004 and L-1005 jonas is at the back; L-1006 emea-smb (en): the first
#   in line who speaks English, camille; L-1007 france (fr): only camille;
#   L-1009 emea-payments (en): emma is inactive, then lars, who has waited
#   longest (the two German leads do not give jonas the English one too).
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
rc, out, err = run("route", "--table", routing, "--reps", reps, leads, "--no-state")
with open(expected_route, encoding="utf-8") as f:
    want = f.read()
expect(out == want, "route output differs from tests/cli/expected-route.csv:\n" + out)
expect(rc == 1, f"route with skipped rows and an unrouted lead exits 1, got {rc}")
positions = [err.find(line) for line in ("leads.csv:27:", "leads.csv:28: lead L-1027: unrouted: ", "leads.csv:29:")]
expect(-1 not in positions and positions == sorted(positions), f"route stderr names lines 27, 28, 29 in order: {err!r}")


def route_rows(text):
    return {row["id"]: row for row in csv.DictReader(io.StringIO(text))}


# --dedupe-field email: the second form of the same person stays with its rep;
# a lead without an email cannot be deduplicated, so it is unrouted
rc, out, err = run("route", "--table", routing, "--reps", reps, leads, "--dedupe-field", "email", "--no-state")
rows = route_rows(out)
expect(rc == 1, f"route --dedupe-field exits 1 (unrouted leads), got {rc}")
expect(rows.get("L-1029", {}).get("status") == "existing" and rows["L-1029"]["rep"] == "omar"
       and "ap@cascadefintech.com" in rows["L-1029"]["reason"], f"existing by email: {rows.get('L-1029')}")
expect(rows.get("L-1022", {}).get("status") == "unrouted" and "'email'" in rows["L-1022"]["reason"],
       f"no email, unrouted: {rows.get('L-1022')}")
expect("leads.csv:23: lead L-1022: unrouted: " in err, f"stderr names L-1022: {err!r}")

# --explain: a trace column of one-line JSON that agrees with the row
rc, out, err = run("route", "--table", routing, "--reps", reps, leads, "--explain", "--no-state")
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
rc, out, err = run("route", "--table", routing, "--reps", reps, "-", "--no-state",
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
rc, out, err = run("route", "--table", routing, "--reps", unknown_pool, "-", "--no-state",
                   stdin="id,region\nu1,EMEA\n")
expect(rc == 1 and out.splitlines()[1].startswith("u1,unrouted,,,emea-smb,")
       and "pool 'emea'" in out and "lead u1: unrouted:" in err,
       f"a pool the roster lacks leaves the lead unrouted: {rc} {out!r} {err!r}")

# an input larger than the tool reads (256 MiB), or one that never ends, is
# refused with one line and exit 2, not read until memory runs out; the run is
# watched and stopped if it grows past 1 GiB or takes a minute
def run_bounded(*args, stdin_path=None):
    import time
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            open(stdin_path or os.devnull, "rb") as stdin:
        p = subprocess.Popen([tool, *args], stdin=stdin, stdout=out, stderr=err, cwd=workdir.name)
        started, worst = time.monotonic(), 0
        while p.poll() is None:
            try:
                with open(f"/proc/{p.pid}/status", encoding="ascii") as f:
                    rss = next((int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:")), 0)
            except (OSError, ValueError):
                rss = 0
            worst = max(worst, rss)
            if worst > 1 << 30 or time.monotonic() - started > 60:
                p.kill()
                p.wait()
                return None, worst
            time.sleep(0.02)
        err.seek(0)
        return (p.returncode, err.read().decode("utf-8", "replace")), worst


MAX_INPUT = "larger than 256 MiB, the most leadroute reads from one file"
for args, stdin_path, name in ((("check", "/dev/zero"), None, "/dev/zero"),
                               (("eval", routing, "-"), "/dev/zero", "<stdin>"),
                               (("route", "--table", routing, "--reps", reps, "/dev/zero", "--no-state"), None,
                                "/dev/zero")):
    result, worst = run_bounded(*args, stdin_path=stdin_path)
    expect(result is not None and result[0] == 2 and result[1] == f"leadroute: {name}: {MAX_INPUT}\n",
           f"{' '.join(args)} stops at the input limit: {result} (at most {worst >> 20} MiB used)")
big = os.path.join(workdir.name, "big.csv")
with open(big, "wb") as f:
    f.truncate((256 << 20) + 1)  # sparse: refused by its size, before a byte is read
rc, out, err = run("route", "--table", routing, "--reps", big, leads, "--no-state")
expect(rc == 2 and out == "" and err == f"leadroute: {big}: {MAX_INPUT}\n", f"a roster over the limit: {rc} {err!r}")
os.unlink(big)

# route usage: exit 2 and a hint, nothing on stdout
for args, message in (
        (("--reps", reps, leads), "expected --table TABLE"),
        (("--table", routing, leads), "expected --reps REPS.csv"),
        (("--table", routing, "--reps", reps), "expected a LEADS.csv file"),
        (("--table", routing, "--reps", reps, leads, leads), f"unexpected argument '{leads}'"),
        (("--table", routing, "--reps", reps, leads, "--dedupe-field"), "--dedupe-field needs a value"),
        (("--table", routing, "--reps", reps, leads, "--dedupe-field="), "--dedupe-field needs a field name"),
        (("--table", routing, "--reps", reps, leads, "--seconds", "1"), "unknown option '--seconds'"),
        (("--table", "-", "--reps", "-", leads), "only one of the files can be '-'")):
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

# ---- persistent state: route --state/--now, tick, ack ----------------------
# The sample leads are routed once into a state file at T0; ticks then move
# the leads whose follow-up deadline (T0 + the rule's sla_minutes) passed.
MIN = 60 * 1000
DAY = 24 * 60 * MIN
T0 = 1795512600000  # 2026-11-24T09:30:00Z


def iso(ms):
    """ms since the epoch as the tool's ISO 8601 UTC (whole seconds here)."""
    import datetime
    t = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def rule_sla(path):
    """sla_minutes of every rule of a table file (its '#' lines are comments)."""
    with open(path, encoding="utf-8") as f:
        rows = list(csv.reader(line for line in f if not line.startswith("#")))
    head = [h.strip() for h in rows[0]]
    col = next(i for i, h in enumerate(head) if h.startswith("out:sla_minutes"))
    return {r[0]: float(r[col]) for r in rows[1:] if r and r[col].strip()}


def read_state(path):
    """The lead claims of a state database: key -> (rep, hops, escalated, acknowledged, history)."""
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT key, rep, hops, escalated, acknowledged_ms, history FROM claims "
                          "WHERE is_account = 0").fetchall()
    finally:
        db.close()
    # history: the earlier holders, each id followed by a NUL byte
    return {key: (rep, hops, escalated == 1, acknowledged,
                  bytes(history).decode("utf-8").split("\0")[:-1] if history else [])
            for key, rep, hops, escalated, acknowledged, history in rows}


def query_state(path, sql):
    """The rows `sql` reads from a state database."""
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def routing_state(path):
    """Claims and pool states: what routing changes (decisions are recorded besides)."""
    db = sqlite3.connect(path)
    try:
        return (db.execute("SELECT * FROM claims ORDER BY key").fetchall(),
                db.execute("SELECT * FROM pools ORDER BY id").fetchall())
    finally:
        db.close()


def tick_run(state, now, *extra):
    rc, out, err = run("tick", "--table", routing, "--reps", reps, "--state", state, "--now", now, *extra)
    summary = [line for line in err.splitlines() if line.startswith("due ")]
    counts = {}
    if len(summary) == 1:
        for part in summary[0].split(", "):
            name, n = part.split(" ")
            counts[name] = int(n)
    expect(rc == 0 and out.startswith("key,action,from,to,pool,reason\n") and len(summary) == 1,
           f"tick at {now}: {rc} {out!r} {err!r}")
    return list(csv.DictReader(io.StringIO(out))), counts


with tempfile.TemporaryDirectory() as tmp:
    state = os.path.join(tmp, "state.db")
    # route with --state adds nothing to the output; a missing file is an empty state
    rc, out, err = run("route", "--table", routing, "--reps", reps, leads, "--state", state,
                       "--now", "2026-11-24T09:30:00Z")
    expect(out == want, "route --state output differs from tests/cli/expected-route.csv:\n" + out)
    expect(rc == 1 and os.path.exists(state), f"route --state creates the state database: {rc} {err!r}")
    routed = {r["id"]: r for r in csv.DictReader(io.StringIO(out)) if r["status"] == "assigned"}
    holders = {lead_id: [r["rep"]] for lead_id, r in routed.items()}  # every rep that held a lead
    first = read_state(state)
    expect(sorted(first) == sorted("lead:" + k for k in routed)
           and all(first["lead:" + k][0] == r["rep"] and not first["lead:" + k][4] for k, r in routed.items()),
           f"the state holds one claim per assigned lead: {first}")
    saved = routing_state(state)

    # a second run reads the state: every claimed lead stays with its rep, and
    # nothing new is written
    rc, out, err = run("route", "--table", routing, "--reps", reps, leads, "--state", state,
                       "--now", "2026-11-24T09:31:00Z")
    again = route_rows(out)
    expect(all(again[k]["status"] == "existing" and again[k]["rep"] == r["rep"] for k, r in routed.items()),
           f"second route against the state: {out!r}")
    expect(routing_state(state) == saved, "routing only existing leads changes no claim and no pool state")

    # T0 + 10 min: only leads whose rule's SLA is at most 10 minutes are due
    sla = rule_sla(routing)
    due_early = sorted(k for k, r in routed.items() if sla[r["rule"]] <= 10)
    expect(due_early == ["L-1001"], f"the sample has one lead with a short SLA (vip, 5 min): {due_early}")
    moves, counts = tick_run(state, iso(T0 + 10 * MIN), "--leads", leads)
    expect(counts.get("due") == len(due_early) and sorted(m["key"] for m in moves) == due_early,
           f"tick at T0+10min moves the short-SLA leads: {counts} {moves}")
    for m in moves:
        expect(m["action"] == "reassigned" and m["from"] == holders[m["key"]][-1] and m["to"] != m["from"]
               and m["pool"] == routed[m["key"]]["pool"] and iso(T0 + 5 * MIN) in m["reason"],
               f"move of {m['key']}: {m}")
        holders[m["key"]].append(m["to"])

    # ack: the rep followed L-1011 up; tick must leave it alone
    acked = "L-1011"
    expect(acked in routed and routed[acked]["pool"] == "americas", f"{acked} went to americas: {routed.get(acked)}")
    rc, out, err = run("ack", "--table", routing, "--reps", reps, "--state", state, "--now",
                       iso(T0 + 20 * MIN), acked)
    expect(rc == 0 and out == f"key,status,rep\n{acked},acknowledged,{routed[acked]['rep']}\n",
           f"ack {acked}: {rc} {out!r} {err!r}")
    rc, out, err = run("ack", "--table", routing, "--reps", reps, "--state", state, acked, "no-such-key")
    expect(rc == 1 and out.splitlines()[1:] == [f"{acked},already acknowledged,{routed[acked]['rep']}",
                                                "no-such-key,not claimed,"]
           and "no-such-key" in err, f"ack again and an unknown key: {rc} {out!r} {err!r}")
    expect(read_state(state)["lead:" + acked][3] == T0 + 20 * MIN, "the first acknowledgement time stands")
    # a KEY that is no key is reported and skipped; the others stand (on a copy of the state)
    ack_copy = os.path.join(tmp, "ack-copy.db")
    shutil.copyfile(state, ack_copy)
    other = next(k for k in sorted(routed) if k != acked)
    rc, out, err = run("ack", "--table", routing, "--reps", reps, "--state", ack_copy, "", other)
    expect(rc == 1 and out.splitlines()[1:] == [f"{other},acknowledged,{read_state(state)['lead:' + other][0]}"]
           and "leadroute ack: KEY 1: key is empty" in err and "skipped" in err
           and read_state(ack_copy)["lead:" + other][3] != 0,
           f"ack with an empty key and a good one: {rc} {out!r} {err!r}")

    # close: a closed lead's claim goes, so its rep's open leads go down and a
    # rep at capacity takes leads again (without it they pile up for good)
    c_table = table("rule,region,out:pool\nall,-,sales\n")
    c_reps = table("#! pools\nid,strategy\nsales,least_loaded\n#! reps\nid,pools,capacity\nr0,sales,1\nr1,sales,1\n")
    c_state = os.path.join(tmp, "close.db")
    c_leads = table("id,region\nC1,x\nC2,x\n")
    rc, out, err = run("route", "--table", c_table, "--reps", c_reps, "--state", c_state, c_leads)
    expect(rc == 0 and [r["rep"] for r in route_rows(out).values()] == ["r0", "r1"], f"close set-up: {rc} {out!r} {err!r}")
    c_more = table("id,region\nC3,x\n")
    rc, out, err = run("route", "--table", c_table, "--reps", c_reps, "--state", c_state, c_more)
    expect(route_rows(out)["C3"]["status"] == "unassigned", f"both reps full: {rc} {out!r} {err!r}")
    rc, out, err = run("close", "--table", c_table, "--reps", c_reps, "--state", c_state, " C2 ", "C9", "")
    expect(rc == 1 and out == "key,status,rep\nC2,closed,r1\nC9,not claimed,\n"
           and "C9" in err and "KEY 3: key is empty" in err, f"close: {rc} {out!r} {err!r}")
    expect("lead:C2" not in read_state(c_state) and "lead:C1" in read_state(c_state), "close drops the claim")
    rc, out, err = run("route", "--table", c_table, "--reps", c_reps, "--state", c_state, c_more)
    expect(route_rows(out)["C3"]["rep"] == "r1", f"r1 takes a lead again once C2 is closed: {rc} {out!r} {err!r}")
    rc, out, err = run("close", "--table", c_table, "--reps", c_reps, "--state", c_state, "--format", "jsonl", "C2")
    expect(rc == 1 and out == '{"key":"C2","status":"not claimed"}\n', f"closed twice: {rc} {out!r} {err!r}")
    rc, out, err = run("explain", "--state", c_state, "C2")
    expect(rc == 0 and out.count("Z  closed\n") == 1, f"explain shows the close, once: {rc} {out!r} {err!r}")
    rc, out, err = run("explain", "--state", c_state, "C9")
    expect(rc == 1 and "closed" not in out, f"a key never claimed was not closed: {rc} {out!r} {err!r}")

    # T0 + 1 day: every SLA of the table has passed; every open assignment
    # with a deadline is due once, except the acknowledged one
    expect(max(sla.values()) <= 24 * 60, f"all SLAs within a day: {sla}")
    moves, counts = tick_run(state, iso(T0 + DAY), "--leads", leads)
    expect(counts.get("due") == len(routed) - 1, f"due at T0+1day: {counts}, {len(routed) - 1} expected")
    expect(counts.get("reassigned", 0) + counts.get("escalated", 0) == len(moves) and len(moves) > 0
           and sum(counts.get(k, 0) for k in ("reassigned", "escalated", "kept", "raced")) == counts.get("due"),
           f"the summary adds up: {counts} {len(moves)} rows")
    keys = [m["key"] for m in moves]
    expect(len(keys) == len(set(keys)) and acked not in keys and set(keys) <= set(routed),
           f"each lead moves at most once, the acknowledged one never: {keys}")
    for m in moves:
        expect(m["action"] == "reassigned" and m["from"] == holders[m["key"]][-1]
               and m["to"] not in holders[m["key"]] and m["pool"] == routed[m["key"]]["pool"],
               f"T0+1day move of {m['key']} (held by {holders[m['key']]}): {m}")
        holders[m["key"]].append(m["to"])
    kept_day1 = counts.get("kept")

    # ticking again at the same time moves nothing new (new deadlines are later)
    moves, counts = tick_run(state, iso(T0 + DAY), "--leads", leads)
    expect(moves == [] and counts.get("due") == kept_day1 and counts.get("kept") == kept_day1,
           f"second tick at T0+1day is idempotent: {counts} {moves}")
    # a leads file with no rows is an empty index, not an error (nor a sort of
    # nothing); on a copy of the state, which the checks below go on from
    no_rows = os.path.join(tmp, "no-rows.csv")
    with open(no_rows, "w", encoding="utf-8") as f:
        f.write("id,region,country,language,score\n")
    state_copy = os.path.join(tmp, "state-copy.db")
    shutil.copyfile(state, state_copy)
    moves, counts = tick_run(state_copy, iso(T0 + DAY), "--leads", no_rows)
    expect(counts.get("due") == kept_day1, f"tick with a leads file of no rows: {counts} {moves}")
    # a state that takes no move (its writes fail): said so, exit 2, not "no one could take it"
    stuck = os.path.join(tmp, "stuck.db")
    rc, out, err = run("route", "--table", routing, "--reps", reps, leads, "--state", stuck, "--now", iso(T0))
    expect(rc == 1, f"routing the sample into a fresh state: {rc} {err!r}")
    db = sqlite3.connect(stuck)
    for when in ("INSERT", "UPDATE"):
        db.execute(f"CREATE TRIGGER no_{when.lower()} BEFORE {when} ON claims "
                   "BEGIN SELECT RAISE(ABORT, 'disk gone'); END")
    db.commit()
    db.close()
    rc, out, err = run("tick", "--table", routing, "--reps", reps, "--state", stuck, "--now", iso(T0 + DAY),
                       "--leads", leads)
    expect(rc == 2 and out == "key,action,from,to,pool,reason\n" and "could not be moved" in err
           and "reassigned 0, escalated 0" in err, f"tick on a state that takes no move: {rc} {out!r} {err!r}")
    rc, out, err = run("ack", "--table", routing, "--reps", reps, "--state", stuck, "L-1001")
    expect(rc == 2 and "disk gone" in err, f"ack on a state that takes no write says why: {rc} {err!r}")
    rc, out, err = run("ack", "--table", routing, "--reps", reps, "--state", stuck, "L-1001", "L-1003")
    expect(rc == 2 and out == "key,status,rep\n" and err == "leadroute ack: store acknowledge callback failed with -9 (input/output "
           f"error): {stuck}: acknowledge: disk gone\n", f"ack stops at the first write refused: {rc} {out!r} {err!r}")

    # T0 + 2 days: moved leads are due again and never go back to an earlier rep
    moves, counts = tick_run(state, iso(T0 + 2 * DAY), "--leads", leads)
    expect(len(moves) > 0, f"some leads move again at T0+2days: {counts}")
    for m in moves:
        expect(m["from"] == holders[m["key"]][-1] and m["to"] not in holders[m["key"]],
               f"T0+2days move of {m['key']} (held by {holders[m['key']]}): {m}")
        holders[m["key"]].append(m["to"])
    # the state file agrees: current rep, earlier reps in order, no one twice
    final = read_state(state)
    for lead_id, seen in holders.items():
        rep, hops, _, acknowledged, history = final["lead:" + lead_id]
        expect(rep == seen[-1] and history == seen[:-1] and hops == len(history) and len(set(seen)) == len(seen),
               f"state of {lead_id}: {final['lead:' + lead_id]}, moves {seen}")
    expect(final["lead:" + acked][0] == routed[acked]["rep"], f"{acked} kept its rep: {final['lead:' + acked]}")

    # escalation: after max_hops reassignments the lead goes to the pool's
    # escalation owner; a 60-minute deadline from the pool (the rule sets none)
    esc_table = os.path.join(tmp, "esc-table.csv")
    esc_reps = os.path.join(tmp, "esc-reps.csv")
    esc_state = os.path.join(tmp, "esc-state.db")
    with open(esc_table, "w", encoding="utf-8") as f:
        f.write("rule,region,out:pool\nr1,-,team\n")
    with open(esc_reps, "w", encoding="utf-8") as f:
        f.write("#! pools\nid,strategy,sla_minutes,max_hops,escalation_owner\nteam,round_robin,60,1,boss\n"
                "#! reps\nid,pools\na,team\nb,team\nc,team\nboss,\n")

    def esc_tick(now):
        rc, out, err = run("tick", "--table", esc_table, "--reps", esc_reps, "--state", esc_state, "--now", now)
        expect(rc == 0, f"escalation tick at {now}: {rc} {err!r}")
        return list(csv.DictReader(io.StringIO(out)))

    rc, out, err = run("route", "--table", esc_table, "--reps", esc_reps, "--state", esc_state,
                       "--now", "2026-01-01T00:00:00Z", "-", stdin="id,region\nx1,EMEA\n")
    expect(rc == 0 and out.splitlines()[1].startswith("x1,assigned,a,team,r1,"), f"route x1: {rc} {out!r} {err!r}")
    moves = esc_tick("2026-01-01T00:59:59Z")
    expect(moves == [], f"nothing due before the pool's 60 minutes: {moves}")
    moves = esc_tick("2026-01-01T01:00:00Z")
    expect([(m["key"], m["action"], m["from"], m["pool"]) for m in moves] == [("x1", "reassigned", "a", "team")]
           and moves[0]["to"] in ("b", "c"), f"first hop: {moves}")
    second = moves[0]["to"] if moves else None
    moves = esc_tick("2026-01-01T02:00:00Z")
    expect([(m["key"], m["action"], m["from"], m["to"]) for m in moves] == [("x1", "escalated", second, "boss")]
           and "escalated to boss" in moves[0]["reason"], f"escalation after max_hops: {moves}")
    rep, hops, escalated, _, history = read_state(esc_state).get("lead:x1", (None, 0, False, 0, []))
    expect(rep == "boss" and escalated and history == ["a", second], f"escalated state: {read_state(esc_state)}")

    # odd keys are stored and read back exactly
    odd = "back\\slash\tand tab"
    rc, out, err = run("route", "--table", esc_table, "--reps", esc_reps, "--state", esc_state,
                       "--now", "2026-01-02T00:00:00Z", "-", stdin=f'id,region\n"{odd}",EMEA\n')
    expect(rc == 0 and "assigned" in out, f"route {odd!r}: {rc} {out!r} {err!r}")
    expect("lead:" + odd in read_state(esc_state), f"the odd key is stored as it is: {list(read_state(esc_state))}")
    rc, out, err = run("ack", "--table", esc_table, "--reps", esc_reps, "--state", esc_state, odd)
    rows = list(csv.reader(io.StringIO(out)))
    expect(rc == 0 and len(rows) == 2 and rows[1][:2] == [odd, "acknowledged"],
           f"ack of a key with a backslash and a tab: {rc} {out!r} {err!r}")

    # rolling caps count the assignments of earlier runs (the store's window)
    cap_reps = os.path.join(tmp, "cap-reps.csv")
    cap_state = os.path.join(tmp, "cap-state.db")
    with open(cap_reps, "w", encoding="utf-8") as f:
        f.write("#! reps\nid,pools,cap_day\na,team,1\nb,team,1\n")
    def route_steps(state, steps, what):
        """Route each (lead, time, status, rep) alone into `state`; the assignment log after."""
        for lead_id, now, status, rep in steps:
            rc, out, err = run("route", "--table", esc_table, "--reps", cap_reps, "--state", state,
                               "--now", iso(now), "-", stdin=f"id,region\n{lead_id},EMEA\n")
            row = route_rows(out).get(lead_id, {})
            expect(row.get("status") == status and row.get("rep") == rep,
                   f"{what}, {lead_id} at {iso(now)}: {rc} {out!r} {err!r}")
        db = sqlite3.connect(state)
        log = db.execute("SELECT at_ms, rep FROM assignments ORDER BY at_ms").fetchall()
        db.close()
        return log

    # (in the past: the log is pruned 31 days before the commit's time or the machine's clock, the earlier)
    TP = T0 - 100 * DAY
    log = route_steps(cap_state, (("y1", TP, "assigned", "a"), ("y2", TP + 60 * MIN, "assigned", "b"),
                                  ("y3", TP + 120 * MIN, "unassigned", ""),
                                  ("y4", TP + 40 * DAY, "assigned", "a")), "daily caps across runs")
    expect(log == [(TP + 40 * DAY, "a")], f"the log keeps only what a window can reach (31 days): {log}")
    # A host whose clock runs far ahead: its row counts in every window from then on (b is at its
    # cap), and must not prune the rows the others' windows read, or w1 would be forgotten and a
    # take w2 over its cap.
    now_ms = int(time.time()) // 60 * 60 * 1000
    log = route_steps(os.path.join(tmp, "cap-future.db"),
                      (("w1", now_ms, "assigned", "a"), ("w0", now_ms + 400 * DAY, "assigned", "b"),
                       ("w2", now_ms + 60 * MIN, "unassigned", "")), "daily caps beside a clock far ahead")
    expect(log == [(now_ms, "a"), (now_ms + 400 * DAY, "b")], f"a clock far ahead prunes no row of now: {log}")

    # another process holding the write lock past the busy timeout (5 s): the batch is begun
    # again, as the help promises for a failed batch, not given up. Each batch has its own
    # 3 tries: the third batch, whose decision the state refuses every time, is still routed
    # again 3 times after the first batch needed a try (or two, on a slow start).
    lock_state = os.path.join(tmp, "locked.db")
    rc, out, err = run("route", "--table", esc_table, "--reps", esc_reps, "--state", lock_state, "-",
                       stdin="id,region\nk0,EMEA\n")
    holder = sqlite3.connect(lock_state, isolation_level=None, timeout=10)
    holder.execute("CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.lead_id = 'k3' "
                   "BEGIN SELECT RAISE(ABORT, 'refused'); END")
    holder.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    lock_leads = os.path.join(tmp, "locked-leads.csv")
    with open(lock_leads, "w", encoding="utf-8") as f:
        f.write("id,region\nk1,EMEA\nk2,EMEA\nk3,EMEA\n")
    route_p = subprocess.Popen([tool, "route", "--table", esc_table, "--reps", esc_reps, "--state", lock_state,
                                "--batch", "1", lock_leads], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=workdir.name)
    time.sleep(max(0.0, 6.5 - (time.monotonic() - started)))
    holder.execute("COMMIT")
    holder.close()
    out, err = route_p.communicate(timeout=60)
    retries = [line for line in err.splitlines() if line.endswith("routing it again")]
    begun_again = [line for line in retries if line.startswith("leadroute route: cannot start a transaction (")]
    refused_again = f"leadroute route: the decision could not be recorded ({lock_state}: record: refused); " \
        "the batch (0 leads) was rolled back, routing it again"
    expect(route_p.returncode == 2 and sorted(route_rows(out)) == ["k1", "k2"] and len(begun_again) in (1, 2)
           and retries == begun_again + [refused_again] * 3,
           f"a write lock held past the busy timeout: the batch begins again; the next batches have their own "
           f"tries: {route_p.returncode} {out!r} {err!r}")

    # a short exclusive lock held when they open the state (another process's checkpoint or
    # WAL recovery takes one): tick and ack wait for it, as route does, not fail at once
    holder = sqlite3.connect(lock_state, isolation_level=None, timeout=10)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT OR REPLACE INTO meta VALUES ('check.lock', 'held')")
    holder.execute("COMMIT")  # the exclusive lock stays until the connection closes
    started = time.monotonic()
    waiting = [subprocess.Popen([tool, *args, "--table", esc_table, "--reps", esc_reps, "--state", lock_state],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=workdir.name)
               for args in (("ack", "k0"), ("tick",))]
    time.sleep(max(0.0, 1.5 - (time.monotonic() - started)))
    holder.close()
    for p, what in zip(waiting, ("ack", "tick")):
        out, err = p.communicate(timeout=60)
        expect(p.returncode == 0 and "locked" not in err,
               f"{what} waits out a short exclusive lock: {p.returncode} {out!r} {err!r}")

    # a file that is not a state database is an error naming it; nothing is written
    bad_state = os.path.join(tmp, "bad-state.db")
    bad_text = "id,status\nx,assigned\n"
    with open(bad_state, "w", encoding="utf-8") as f:
        f.write(bad_text)
    for args in (("tick", "--table", routing, "--reps", reps, "--state", bad_state),
                 ("route", "--table", routing, "--reps", reps, leads, "--state", bad_state),
                 ("ack", "--table", routing, "--reps", reps, "--state", bad_state, "x"),
                 ("explain", "--state", bad_state, "x")):
        rc, out, err = run(*args)
        expect(rc == 2 and out == "" and err.count("\n") == 1 and f"{bad_state}: not a SQLite database" in err,
               f"{args[0]} with a state that is not a database: {rc} {out!r} {err!r}")
    with open(bad_state, encoding="utf-8") as f:
        expect(f.read() == bad_text, "a file that is not a state database is left as it was")
    # tick and ack carry on what route left: an empty file is refused, not made a state
    empty_state = os.path.join(tmp, "empty-state.db")
    open(empty_state, "w").close()
    for args in (("tick", "--table", routing, "--reps", reps, "--state", empty_state),
                 ("ack", "--table", routing, "--reps", reps, "--state", empty_state, "x")):
        rc, out, err = run(*args)
        expect(rc == 2 and out == "" and f"{empty_state}: an empty database, not a leadroute store yet" in err
               and os.path.getsize(empty_state) == 0, f"{args[0]} with an empty state file: {rc} {out!r} {err!r}")
    # a name starting with "file:" is that file, not a SQLite URI naming another
    uri_like = "file:uri-state.db?mode=x"
    rc, out, err = run("route", "--table", routing, "--reps", reps, leads, "--state", uri_like)
    expect(rc == 1 and os.path.exists(os.path.join(workdir.name, uri_like))
           and not os.path.exists(os.path.join(workdir.name, "uri-state.db")),
           f"route --state {uri_like} writes that file: {rc} {sorted(os.listdir(workdir.name))}")
    rc, out, err = run("explain", "--state", uri_like, "L-1001")
    expect(rc == 0 and "L-1001" in out, f"explain --state {uri_like} reads it: {rc} {err!r}")
    rc, out, err = run("tick", "--table", routing, "--reps", reps, "--state", uri_like, "--now", "2030-01-01T00:00:00Z")
    expect(rc == 0 and "due " in err, f"tick --state {uri_like} reads it: {rc} {err!r}")
    newer = os.path.join(tmp, "newer.db")
    db = sqlite3.connect(newer)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('schema', '2')")
    db.commit()
    db.close()
    rc, out, err = run("tick", "--table", routing, "--reps", reps, "--state", newer)
    expect(rc == 2 and newer in err and "schema version 2" in err, f"newer state schema: {rc} {err!r}")
    # another program's database is refused before anything of it changes
    # (its journal mode neither), and one with a 'meta' table of its own is
    # "not a leadroute store" too
    for name, sql in (("foreign.db", "CREATE TABLE x (a)"), ("foreign-meta.db", "CREATE TABLE meta (k, v)")):
        foreign = os.path.join(tmp, name)
        db = sqlite3.connect(foreign)
        db.execute(sql)
        db.commit()
        db.close()
        with open(foreign, "rb") as f:
            before = f.read()
        for args in (("tick", "--table", routing, "--reps", reps, "--state", foreign),
                     ("route", "--table", routing, "--reps", reps, leads, "--state", foreign),
                     ("ack", "--table", routing, "--reps", reps, "--state", foreign, "x")):
            rc, out, err = run(*args)
            with open(foreign, "rb") as f:
                after = f.read()
            expect(rc == 2 and "not a leadroute store" in err and after == before
                   and not os.path.exists(foreign + "-wal"),
                   f"{args[0]} with {name}: {rc} {err!r}, file changed: {after != before}")
    # a state file name with no room for SQLite's "-journal" beside it is
    # refused before anything is created (it used to leave an empty file and
    # say "unable to open database file")
    name_max = os.pathconf(tmp, "PC_NAME_MAX")
    for length, fits in ((name_max - 8, True), (name_max - 7, False)):
        long_state = os.path.join(tmp, "s" * length)
        rc, out, err = run("route", "--table", routing, "--reps", reps, leads, "--state", long_state)
        if fits:
            expect(rc == 1 and os.path.exists(long_state), f"a state name of {length} bytes: {rc} {err!r}")
            os.remove(long_state)
            for suffix in ("-wal", "-shm"):
                if os.path.exists(long_state + suffix):
                    os.remove(long_state + suffix)
        else:
            expect(rc == 2 and out == "" and err.count("\n") == 1 and "file name is too long" in err
                   and f"at most {name_max - 8} bytes" in err and not os.path.exists(long_state),
                   f"a state name of {length} bytes: {rc} {out!r} {err!r}")


    # explain: the recorded history of a lead, from every run
    rc, out, err = run("explain", "--state", state, "L-1001", "L-1030")
    expect(rc == 0 and out.startswith("L-1001 (key L-1001)\n") and "  assigned\n" in out
           and "    lead L-1001 (key L-1001): assigned to" in out and "reassigned" in out
           and "L-1030 (key L-1030)" in out and "queued in queue sdr-overflow" in out
           and "kenji    inside-sales  at capacity" in out, f"explain: {rc} {out!r} {err!r}")
    rc, out, err = run("explain", "--state", state, "--format", "jsonl", acked)
    events = [json.loads(line) for line in out.splitlines()]
    expect(rc == 0 and [e["event"] for e in events][:1] == ["assigned"]
           and "acknowledged" in [e["event"] for e in events]
           and events[0]["detail"]["trace"]["rep"] == routed[acked]["rep"]
           and events[0]["detail"]["trace"]["lead_id"] == acked, f"explain --format jsonl: {rc} {events} {err!r}")
    rc, out, err = run("explain", "--state", state, "L-1001", "nobody")
    expect(rc == 1 and "L-1001" in out and "no recorded decision for 'nobody'" in err,
           f"explain of an unknown lead: {rc} {err!r}")
    # times at either end of the int64 range are shown, not overflowed, their
    # years in ISO 8601's expanded form; so is a year just past 9999
    for at_ms, shown in ((-9223372036854775808, "-292275055-05-16T16:47:04.192Z"),
                         (9223372036854775807, "+292278994-08-17T07:12:55.807Z"),
                         (253402300800000, "+010000-01-01T00:00:00Z")):
        extreme = os.path.join(tmp, "extreme.db")
        shutil.copyfile(state, extreme)
        db = sqlite3.connect(extreme)
        db.execute("UPDATE events SET at_ms = ?", (at_ms,))
        db.commit()
        db.close()
        rc, out, err = run("explain", "--state", extreme, "--format", "jsonl", "L-1001")
        events = [json.loads(line) for line in out.splitlines()]
        expect(rc == 0 and events and all(e["at"] == shown for e in events),
               f"explain of events at {at_ms} ms: {rc} {out[:300]!r} {err!r}")
        os.remove(extreme)
    # a lead id holding a line break and a terminal escape cannot forge a line
    forged = os.path.join(tmp, "forged.db")
    shutil.copyfile(state, forged)
    db = sqlite3.connect(forged)
    db.execute("UPDATE events SET lead_id = 'L-1001' || char(10) || '  2026-01-01T00:00:00Z  acknowledged'"
               " || char(27) || '[31m' WHERE key = 'L-1001'")
    db.commit()
    db.close()
    rc, out, err = run("explain", "--state", forged, "L-1001")
    expect(rc == 0 and out.startswith("L-1001\\x0a  2026-01-01T00:00:00Z  acknowledged\\x1b[31m (key L-1001)\n")
           and "\x1b" not in out and "\n  2026-01-01T00:00:00Z  acknowledged" not in out,
           f"explain of a lead id with a line break: {rc} {out[:300]!r} {err!r}")
    # nor a C1 control (U+009B opens a terminal escape) or a line separator
    db = sqlite3.connect(forged)
    db.execute("UPDATE events SET lead_id = 'L-1001' || char(155) || '2J' || char(8232) || 'x' || char(8233)"
               " WHERE key = 'L-1001'")
    db.commit()
    db.close()
    rc, out, err = run("explain", "--state", forged, "L-1001")
    expect(rc == 0 and out.startswith("L-1001\\xc2\\x9b2J\\xe2\\x80\\xa8x\\xe2\\x80\\xa9 (key L-1001)\n")
           and not any(ch in out for ch in "\u009b\u2028\u2029"),
           f"explain of a lead id with a C1 control and separators: {rc} {out[:300]!r} {err!r}")
    # an id of 4,096 bytes, most of them shown as \xNN, is shown whole
    key = "\x01" * 4093 + "XYZ"
    rc, out, err = run("explain", "--state", forged, key)
    expect(rc == 1 and ("\\x01" * 4093 + "XYZ' in ") in err, f"explain of a maximal escaped id: {rc} {err[-200:]!r}")
    # nor an event's recorded text, escaped in its JSON or raw
    db = sqlite3.connect(forged)
    db.execute("UPDATE events SET detail = ? WHERE key = 'L-1001'",
               ('{"text":"lead L-1001: assigned\\u001b[2J\\u009b31mX\\u2028Y\\tZ\u0085W\u2029V"}',))
    db.commit()
    db.close()
    rc, out, err = run("explain", "--state", forged, "L-1001")
    expect(rc == 0 and "lead L-1001: assigned\\x1b[2J\\xc2\\x9b31mX\\xe2\\x80\\xa8Y\\x09Z\\xc2\\x85W\\xe2\\x80\\xa9V" in out
           and not any(ch in out for ch in "\x1b\t\u0085\u009b\u2028\u2029"),
           f"explain of a forged event text: {rc} {out[:400]!r} {err!r}")

    # explain and simulate only read the state: a file the user may only read,
    # in a directory the user may not write (so SQLite cannot add its -shm
    # index beside it), will do, and nothing is written. Root may write
    # anything, so as root the tool runs as the user 'nobody' (uid 65534).
    ro_dir = os.path.join(tmp, "read-only")
    os.mkdir(ro_dir)
    for src in (state, routing, reps, leads):
        shutil.copy(src, ro_dir)
    ro_state = os.path.join(ro_dir, os.path.basename(state))
    os.chmod(ro_state, 0o444)
    writable_state = os.path.join(ro_dir, "writable.db")
    shutil.copy(state, writable_state)
    os.chmod(writable_state, 0o666)
    os.chmod(ro_dir, 0o555)
    as_reader = {}
    if os.geteuid() == 0:
        os.chmod(tmp, 0o755)  # nobody must reach the directory
        as_reader = {"user": 65534, "group": 65534, "extra_groups": []}

    def run_reader(*args):
        p = subprocess.run([tool, *args], capture_output=True, text=True, cwd=ro_dir, **as_reader)
        return p.returncode, p.stdout, p.stderr

    try:
        usable = run_reader("--version")[0] == 0
        why = "the tool does not run as uid 65534 (is the build directory readable by others?)"
    except (OSError, subprocess.SubprocessError) as e:
        usable, why = False, f"cannot run the tool as uid 65534: {e}"
    if not usable:
        print(f"skipped: explain and simulate on a read-only state: {why}")
    else:
        before = sorted(os.listdir(ro_dir)), open(ro_state, "rb").read()
        rc, out, err = run_reader("explain", "--state", ro_state, "L-1001")
        expect(rc == 0 and out.startswith("L-1001 (key L-1001)\n") and "assigned" in out,
               f"explain on a read-only state: {rc} {out[:200]!r} {err!r}")
        rc, out, err = run_reader("simulate", "--table", "routing.csv", "--reps", "reps.csv", "leads.csv",
                                  "--state", ro_state, "--format", "csv")
        outcomes = {r["name"]: int(r["leads"]) for r in csv.DictReader(io.StringIO(out)) if r["kind"] == "outcome"}
        expect(rc == 1 and outcomes.get("existing", 0) > 0, f"simulate on a read-only state: {rc} {outcomes} {err!r}")
        expect((sorted(os.listdir(ro_dir)), open(ro_state, "rb").read()) == before,
               "explain and simulate leave a read-only state as it was")
        # route in that directory: SQLite cannot write its journal beside
        # the state, a writable one or a new one, and the message says so
        dir_note = " (its directory may not be written, and SQLite keeps its journal beside the database)\n"
        kept = open(writable_state, "rb").read()
        rc, out, err = run_reader("route", "--table", "routing.csv", "--reps", "reps.csv", "leads.csv",
                                  "--state", "writable.db")
        expect(rc == 2 and err.endswith("attempt to write a readonly database" + dir_note)
               and err.count("\n") == 1 and open(writable_state, "rb").read() == kept,
               f"route on a writable state in a read-only directory: {rc} {err!r}")
        rc, out, err = run_reader("route", "--table", "routing.csv", "--reps", "reps.csv", "leads.csv",
                                  "--state", "fresh.db")
        expect(rc == 2 and err == "leadroute route: cannot open fresh.db: unable to open database file" + dir_note
               and sorted(os.listdir(ro_dir)) == before[0],
               f"route on a new state in a read-only directory: {rc} {err!r}")
        # route on it, in a directory the user may write (so SQLite gets as
        # far as the first write): the file refuses writes for good, so the
        # batch is not routed again, and the tool says so once
        os.chmod(ro_dir, 0o777)
        shutil.copy(os.path.join(data, "leads.csv"), os.path.join(ro_dir, "new.csv"))
        with open(os.path.join(ro_dir, "new.csv"), encoding="utf-8") as f:
            rows = f.read().splitlines()
        with open(os.path.join(ro_dir, "new.csv"), "w", encoding="utf-8") as f:
            f.write("\n".join([rows[0]] + ["N-" + r for r in rows[1:3]]) + "\n")
        rc, out, err = run_reader("route", "--table", "routing.csv", "--reps", "reps.csv", "new.csv",
                                  "--state", ro_state)
        expect(rc == 2 and "routing it again" not in err and err.count("\n") == 1
               and "the state could not be written" in err and "readonly" in err and "directory" not in err
               and open(ro_state, "rb").read() == before[1],
               f"route on a read-only state stops at once: {rc} {err!r}")
        os.remove(os.path.join(ro_dir, "new.csv"))
    os.chmod(ro_dir, 0o755)

# explain and simulate in a directory the user may write: SQLite's reader of
# a WAL database creates the -wal and -shm files beside it and, reading
# only, cannot remove them; they must not outlive the reader when they were
# not there before it. While a writer is at work they are the writer's:
# readers neither wait for it nor take them away, and its commits stand.
with tempfile.TemporaryDirectory() as tmp:
    def run_here(*args):
        p = subprocess.run([tool, *args], capture_output=True, text=True, cwd=tmp)
        return p.returncode, p.stdout, p.stderr

    db_path = os.path.join(tmp, "leadroute-state.db")
    sidecars = [db_path + "-wal", db_path + "-shm"]
    rc, out, err = run_here("route", "--table", routing, "--reps", reps, leads)
    listing = sorted(os.listdir(tmp))
    expect(rc == 1 and listing == ["leadroute-state.db"], f"route closes its state cleanly: {rc} {listing} {err!r}")
    rc, out, err = run_here("explain", "L-1001")
    expect(rc == 0 and out.startswith("L-1001 (key L-1001)\n") and sorted(os.listdir(tmp)) == listing,
           f"explain leaves no -wal or -shm file: {rc} {sorted(os.listdir(tmp))} {err!r}")
    rc, out, err = run_here("simulate", "--table", routing, "--reps", reps, leads, "--format", "csv")
    outcomes = {r["name"]: int(r["leads"]) for r in csv.DictReader(io.StringIO(out)) if r["kind"] == "outcome"}
    expect(rc == 1 and outcomes.get("existing", 0) > 0 and sorted(os.listdir(tmp)) == listing,
           f"simulate leaves no -wal or -shm file: {rc} {outcomes} {sorted(os.listdir(tmp))} {err!r}")

    # deal values as the router reads them: text that is no decimal number is
    # refused (the lead unrouted, its value nothing), a negative one counts 0
    values = os.path.join(tmp, "values.csv")
    with open(values, "w", encoding="utf-8") as f:
        f.write("id,region,deal_value\nA,NA,5 USD\nB,NA,0x10\nC,NA,-7\nE,NA, 12 \nF,NA,.5\nG,NA,5.\nH,NA,1e\n")
    rc, out, err = run_here("simulate", "--no-state", "--table", routing, "--reps", reps, values, "--format", "csv")
    got = {r["name"]: (int(r["leads"]), float(r["value"])) for r in csv.DictReader(io.StringIO(out))
           if r["kind"] == "outcome"}
    expect(rc == 1 and got.get("assigned") == (2, 12.0) and got.get("unrouted") == (5, 0.0),
           f"simulate reads deal values as routing does: {rc} {got} {err!r}")
    os.remove(values)

    # a writer in the middle of a transaction, as a route between its batches
    writer = sqlite3.connect(db_path, isolation_level=None, timeout=0)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO events (at_ms, kind, key, lead_id, detail) VALUES (1, 'noted', 'k-w', 'W-1', '{}')")
    rc, out, err = run_here("explain", "L-1001")
    expect(rc == 0 and out.startswith("L-1001 (key L-1001)\n") and all(os.path.exists(p) for p in sidecars),
           f"explain beside a writer at work: {rc} {sorted(os.listdir(tmp))} {err!r}")
    rc, out, err = run_here("simulate", "--table", routing, "--reps", reps, leads, "--format", "csv")
    expect(rc == 1 and all(os.path.exists(p) for p in sidecars),
           f"simulate beside a writer at work: {rc} {sorted(os.listdir(tmp))} {err!r}")
    writer.execute("COMMIT")
    writer.execute("INSERT INTO events (at_ms, kind, key, lead_id, detail) VALUES (2, 'noted', 'k-w', 'W-1', '{}')")
    writer.close()
    rc, out, err = run_here("explain", "--format", "jsonl", "W-1")
    expect(rc == 0 and len(out.splitlines()) == 2 and sorted(os.listdir(tmp)) == listing,
           f"the writer's commits stand, and it removes its files: {rc} {out!r} {sorted(os.listdir(tmp))} {err!r}")

# usage of the state options and commands: exit 2 and a hint, nothing on stdout
for command, args, message in (
        ("route", ("--table", routing, "--reps", reps, leads, "--now", "yesterday"), "--now: 'yesterday' is not a time"),
        ("route", ("--table", routing, "--reps", reps, leads, "--now", "2026-02-30T00:00:00Z"), "is not a time"),
        ("route", ("--table", routing, "--reps", reps, leads, "--state", "-"), "--state needs a file name"),
        ("tick", ("--table", routing, "--reps", reps, "--state", "no-such.db"), "no state database 'no-such.db'"),
        ("ack", ("--table", routing, "--reps", reps, "--state", "no-such.db", "k"), "no state database"),
        ("tick", ("--table", routing, "--reps", reps, "--state", "s", "--no-state"), "--no-state"),
        ("route", ("--table", routing, "--reps", reps, leads, "--format", "xml"),
         "--format: 'xml' is not one of csv, jsonl"),
        ("route", ("--table", routing, "--reps", reps, leads, "--batch", "0"), "--batch: '0'"),
        ("route", ("--table", routing, "--reps", reps, leads, "--batch", " 7"), "--batch: ' 7'"),
        ("route", ("--table", routing, "--reps", reps, leads, "--batch", "+7"), "--batch: '+7'"),
        ("bench", (routing, leads, "--seconds", " 0.1"), "--seconds: ' 0.1'"),
        ("explain", (), "expected one or more LEAD ids or keys"),
        ("route", ("--table", routing, "--reps", reps, leads, "--state", "s.db", "--no-state"),
         "--state and --no-state: give one of them"),
        ("simulate", ("--table", routing, leads), "expected --reps REPS.csv"),
        ("simulate", ("--table", routing, "--reps", reps), "expected a LEADS.csv file"),
        ("simulate", ("--table", routing, "--reps", reps, leads, "--html", "-"), "--html: give a file name"),
        ("tick", ("--table", routing, "--reps", reps, "--state", "s", leads), f"unexpected argument '{leads}'"),
        ("tick", ("--table", routing, "--reps", reps, "--state", "s", "--explain"), "unknown option '--explain'"),
        ("ack", ("--table", routing, "--reps", reps, "--state", "s"), "expected one or more KEYs"),
        ("close", ("--table", routing, "--reps", reps, "--state", "s"), "expected one or more KEYs"),
        ("close", ("--table", routing, "--reps", reps, "--no-state", "k"), "--no-state: close records into")):
    rc, out, err = run(command, *args)
    expect(rc == 2 and out == "" and message in err and f"leadroute {command} --help" in err,
           f"{command} {' '.join(args)}: {rc} {out!r} {err!r}")
for command, first_line in (("tick", "usage: leadroute tick --table TABLE --reps REPS.csv [--state FILE]"),
                            ("ack", "usage: leadroute ack --table TABLE --reps REPS.csv [--state FILE]"),
                            ("close", "usage: leadroute close --table TABLE --reps REPS.csv [--state FILE]"),
                            ("explain", "usage: leadroute explain [--state FILE]"),
                            ("simulate", "usage: leadroute simulate --table TABLE --reps REPS.csv LEADS.csv")):
    rc, out, err = run(command, "--help")
    expect(rc == 0 and out.startswith(first_line), f"{command} --help: {rc} {out!r}")
rc, out, err = run("--help")
expect(rc == 0 and "  tick --table TABLE" in out and "  ack --table TABLE" in out, f"--help lists tick and ack: {out!r}")


# ---- output formats, the default state, simulate, the progress bar -----------
# --format jsonl: one object per record, the CSV's columns as keys, numbers as numbers
rc, out, err = run("eval", routing, leads, "--format", "jsonl")
objects = [json.loads(line) for line in out.splitlines()]
csv_rows = list(csv.DictReader(open(expected, encoding="utf-8")))
expect(rc == 1 and len(objects) == len(csv_rows)
       and all(o["id"] == r["id"] and o.get("rule", "") == r["rule"] for o, r in zip(objects, csv_rows))
       and any(isinstance(o.get("sla_minutes"), (int, float)) for o in objects),
       f"eval --format jsonl matches the CSV: {rc} {out[:200]!r}")
rc, out, err = run("route", "--table", routing, "--reps", reps, leads, "--no-state", "--explain", "--format", "jsonl")
objects = [json.loads(line) for line in out.splitlines()]
expect(rc == 1 and [o["id"] for o in objects] == [r["id"] for r in csv.DictReader(io.StringIO(
    open(expected_route, encoding="utf-8").read()))]
       and all(isinstance(o["trace"], dict) and o["trace"]["status"] == o["status"] for o in objects),
       f"route --format jsonl, the trace as an object: {rc} {out[:200]!r}")
shadowed = table("rule,region,out:pool\na,-,x\nb,EMEA,y\n")
rc, out, err = run("check", shadowed, "--format", "csv")
rows = list(csv.DictReader(io.StringIO(out)))
expect(rc == 1 and len(rows) == 1 and rows[0]["kind"] == "shadowed" and rows[0]["rule"] == "b"
       and rows[0]["line"] == "3" and rows[0]["other_rule"] == "a", f"check --format csv: {rc} {out!r}")
os.unlink(shadowed)
rc, out, err = run("bench", routing, leads, "--seconds", "0.05", "--format", "jsonl")
figures = json.loads(out) if rc == 1 and out.count("\n") == 1 else {}
expect(figures.get("leads") == 29 and figures.get("per_second", 0) > 0 and figures.get("evaluations", 0) >= 27
       and "(row skipped)" in err, f"bench --format jsonl, exit 1 for the skipped rows: {rc} {out!r} {err!r}")
# evaluations that fail: counted, the first reported with its line, exit 1
bad_leads = os.path.join(workdir.name, "bad-number.csv")
with open(bad_leads, "w", encoding="utf-8") as f:
    f.write("id,score\na,12\nb,many\nc,x\n")
numbers = table("rule,score:number,out:pool\nhot,>=50,p\n")
rc, out, err = run("bench", numbers, bad_leads, "--seconds", "0.05", "--format", "jsonl")
figures = json.loads(out) if out.count("\n") == 1 else {}
expect(rc == 1 and figures.get("errors", 0) > 0 and figures["errors"] * 3 == figures["evaluations"] * 2
       and "bad-number.csv:3: lead b:" in err and "the first of" in err,
       f"bench reports failed evaluations: {rc} {out!r} {err!r}")
rc, out, err = run("bench", numbers, "-", "--seconds", "0.05", stdin="id,score\na,60\nb,10\n")
expect(rc == 0 and "throughput:" in out and err == "", f"bench of clean leads exits 0: {rc} {out!r} {err!r}")
# no lead to measure (a header alone, or every row skipped): nothing is written, exit 2 as its help says
rc, out, err = run("bench", numbers, "-", "--seconds", "0.05", stdin="id,score\n")
expect(rc == 2 and out == "" and "no leads to evaluate" in err, f"bench of no leads exits 2: {rc} {out!r} {err!r}")
# --seconds is a decimal number: hexadecimal (which strtod reads: 0x10 is 16 s) and inf are refused
for bad in ("0x10", "0X1p-4", "inf", "nan", "0", "-1", "1e9", "2s"):
    rc, out, err = run("bench", numbers, "-", "--seconds", bad, stdin="id,score\na,60\n")
    expect(rc == 2 and "is not a number of seconds" in err, f"bench --seconds {bad} is refused: {rc} {err!r}")
# a table input no lead column gives, and output columns named like the record's own
headers = os.path.join(workdir.name, "headers.csv")
with open(headers, "w", encoding="utf-8") as f:
    f.write("id,Score\na,60\n")
rc, out, err = run("eval", numbers, headers)
expect(rc == 0 and "no lead gives 'score', which the table reads" in err and "differs only in case" in err,
       f"eval names a table input the leads lack: {rc} {err!r}")
named = table("rule,score:number,out:rule,out:id\nhot,>=50,r,i\n")
rc, out, err = run("eval", named, "-", "--format", "jsonl", stdin="id,score\na,60\n")
expect(rc == 0 and out and json.loads(out.splitlines()[0]) == {"id": "a", "rule": "hot", "out:rule": "r", "out:id": "i"},
       f"output columns named rule and id: {rc} {out!r} {err!r}")
os.unlink(named)
os.unlink(numbers)

# without --state the state lives in leadroute-state.db of the working directory
default_state = os.path.join(workdir.name, "leadroute-state.db")
rc, out, err = run("route", "--table", routing, "--reps", reps, leads)
expect(rc == 1 and os.path.exists(default_state) and out == open(expected_route, encoding="utf-8").read(),
       f"route keeps its state in leadroute-state.db: {rc} {err!r}")
rc, out, err = run("route", "--table", routing, "--reps", reps, leads)
statuses = {r["status"] for r in csv.DictReader(io.StringIO(out)) if r["id"] not in ("L-1027",)}
expect(statuses <= {"existing", "queued", "unassigned"} and "existing" in statuses,
       f"a second run reports routed leads as existing: {statuses}")

# simulate: a copy of the state, never written; figures that add up
before = routing_state(default_state)
rc, out, err = run("simulate", "--table", routing, "--reps", reps, leads, "--format", "csv")
records = list(csv.DictReader(io.StringIO(out)))
outcomes = {r["name"]: int(r["leads"]) for r in records if r["kind"] == "outcome"}
expect(rc == 1 and outcomes.get("assigned") == 0 and outcomes.get("existing", 0) > 0
       and routing_state(default_state) == before, f"simulate starts from the state and never writes it: {outcomes}")
rc, out, err = run("simulate", "--table", routing, "--reps", reps, leads, "--no-state", "--format", "csv",
                   "--html", os.path.join(workdir.name, "report.html"))
records = list(csv.DictReader(io.StringIO(out)))
by_kind = {}
for r in records:
    by_kind.setdefault(r["kind"], []).append(r)
outcomes = {r["name"]: int(r["leads"]) for r in by_kind.get("outcome", [])}
routed_rows = list(csv.DictReader(io.StringIO(open(expected_route, encoding="utf-8").read())))
expect(outcomes == {s: sum(1 for r in routed_rows if r["status"] == s)
                    for s in ("assigned", "existing", "queued", "unassigned", "unrouted")},
       f"simulate outcomes agree with route: {outcomes}")
rep_leads = {r["name"]: int(r["leads"]) for r in by_kind.get("rep", [])}
expect(rep_leads == {rep: sum(1 for r in routed_rows if r["status"] == "assigned" and r["rep"] == rep)
                     for rep in rep_leads} and sum(rep_leads.values()) == outcomes.get("assigned"),
       f"simulate leads per rep agree with route: {rep_leads}")
rule_hits = {r["name"]: int(r["leads"]) for r in by_kind.get("rule", [])}
expect(rule_hits.get("nordics") == 0 and rule_hits.get("us-west-tech") == sum(
    1 for r in routed_rows if r["rule"] == "us-west-tech"), f"simulate rule hits: {rule_hits}")
with open(os.path.join(workdir.name, "report.html"), encoding="utf-8") as f:
    page = f.read()
expect(page.lower().startswith("<!doctype html>") and "<svg" in page and "nordics" in page
       and "<script" not in page and "https://" not in page
       and page.replace("http://www.w3.org/2000/svg", "").count("http://") == 0,
       "simulate --html writes a self-contained page")
# the report never takes the place of a file simulate reads, nor of a state database;
# it is written through a FIFO (or a pipe, a terminal) as into a file
table_copy = os.path.join(workdir.name, "table-copy.csv")
shutil.copyfile(routing, table_copy)
state_copy = os.path.join(workdir.name, "state-copy.db")
shutil.copyfile(default_state, state_copy)
for args, target, says in (
        (("--table", table_copy, "--no-state"), table_copy, "which simulate reads"),
        (("--table", routing, "--state", state_copy), state_copy, "which simulate reads"),
        (("--table", routing, "--no-state"), state_copy, "is a SQLite database")):
    with open(target, "rb") as f:
        was = f.read()
    rc, out, err = run("simulate", *args, "--reps", reps, leads, "--html", target)
    with open(target, "rb") as f:
        expect(rc == 2 and says in err and f.read() == was, f"simulate --html {target} refused: {rc} {err!r}")
# nor of what comes in on standard input, nor of the file standard output is (the summary's)
leads_copy = os.path.join(workdir.name, "leads-copy.csv")
shutil.copyfile(leads, leads_copy)
with open(leads_copy, "rb") as f:
    was = f.read()
with open(leads_copy, "rb") as stdin:
    p = subprocess.run([tool, "simulate", "--table", routing, "--reps", reps, "-", "--no-state", "--html", leads_copy],
                       stdin=stdin, capture_output=True, cwd=workdir.name)
with open(leads_copy, "rb") as f:
    expect(p.returncode == 2 and b"is its standard input, which simulate reads" in p.stderr and f.read() == was,
           f"simulate --html over its standard input refused: {p.returncode} {p.stderr!r}")
summary = os.path.join(workdir.name, "summary.txt")
with open(summary, "w") as stdout:
    p = subprocess.run([tool, "simulate", "--table", routing, "--reps", reps, leads, "--no-state", "--html",
                        "/dev/stdout"], stdout=stdout, stderr=subprocess.PIPE, cwd=workdir.name)
expect(p.returncode == 2 and b"the summary goes to standard output" in p.stderr and os.path.getsize(summary) == 0,
       f"simulate --html /dev/stdout into a file refused: {p.returncode} {p.stderr!r}")
fifo = os.path.join(workdir.name, "report.fifo")
os.mkfifo(fifo)
reader = subprocess.Popen(["cat", fifo], stdout=subprocess.PIPE)
try:
    p = subprocess.run([tool, "simulate", "--table", routing, "--reps", reps, leads, "--no-state", "--html", fifo],
                       capture_output=True, text=True, cwd=workdir.name, timeout=60)
    page = reader.communicate(timeout=60)[0]
    expect(p.returncode == 1 and page.count(b"<svg") > 0, f"simulate --html into a FIFO: {p.returncode} {p.stderr!r}")
except subprocess.TimeoutExpired:
    reader.kill()
    expect(False, "simulate --html into a FIFO does not finish")
os.unlink(fifo)
rc, out, err = run("simulate", "--table", routing, "--reps", reps, leads, "--no-state")
expect(rc == 1 and "outcomes: assigned" in out and "(never hit)" in out and "not assigned, by reason:" in out,
       f"simulate text summary: {out!r}")
# every lead assigned: no reasons to tally, exit 0
one_lead = os.path.join(workdir.name, "one-lead.csv")
with open(one_lead, "w", encoding="utf-8") as f:
    f.write("id,region,country,language,score\nq1,EMEA,FR,fr,40\n")
rc, out, err = run("simulate", "--table", routing, "--reps", reps, one_lead, "--no-state")
expect(rc == 0 and "outcomes: assigned 1" in out and "not assigned, by reason:" not in out,
       f"simulate with every lead assigned: {rc} {out!r} {err!r}")

# the progress bar: on a terminal, never when stderr is piped
many = os.path.join(workdir.name, "many.csv")
with open(many, "w", encoding="utf-8") as f:
    f.write("id,region,country,language,score\n")
    f.writelines(f"p{i},EMEA,FR,fr,40\n" for i in range(1500))
rc, out, err = run("route", "--table", routing, "--reps", reps, many, "--no-state")
expect(rc == 0 and "\r" not in err and "[" not in err, f"no progress bar when stderr is piped: {err[:200]!r}")
try:
    import pty
    master, slave = pty.openpty()
    p = subprocess.Popen([tool, "route", "--table", routing, "--reps", reps, many, "--no-state"],
                         stdout=subprocess.DEVNULL, stderr=slave, cwd=workdir.name)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        seen += chunk
    p.wait()
    os.close(master)
    text = seen.decode("utf-8", "replace")
    expect(p.returncode == 0 and "\r[" in text and "100% 1500/1500 leads" in text,
           f"a progress bar on a terminal: {text[-300:]!r}")
except ImportError:
    pass
# a message written while the bar runs starts its own line: the bar is wiped first
troubled = os.path.join(workdir.name, "troubled.csv")
with open(troubled, "w", encoding="utf-8") as f:
    f.write("id,region,country,language,score\n")
    f.writelines(f"t{i},EMEA,FR,fr,{'high' if i % 500 == 7 else 40}\n" if i != 900 else "t900,EMEA\n"
                 for i in range(1500))
rc, out, err = run("route", "--table", routing, "--reps", reps, troubled, "--no-state", "--progress")
messages = [line.split("\r")[-1] for line in err.split("\n") if "unrouted:" in line or "row skipped" in line]
expect(rc == 1 and len(messages) == 4 and all(m.startswith(troubled + ":") for m in messages)
       and "100% 1499/1499 leads" in err, f"messages beside a bar start their lines: {rc} {messages!r}")

# explain by lead id shows the acknowledgements of its dedupe key: ack records
# them under the key, whether it was given the key (here the email) or the id
with tempfile.TemporaryDirectory() as tmp:
    state = os.path.join(tmp, "acks.db")
    rc, out, err = run("route", "--table", routing, "--reps", reps, leads, "--state", state,
                       "--dedupe-field", "email", "--now", "2026-11-24T09:30:00Z")
    rows = route_rows(out)
    expect(rows.get("L-1003", {}).get("status") == "assigned" and rows.get("L-1001", {}).get("status") == "assigned",
           f"route --dedupe-field email: {rc} {err!r}")
    rc, out, err = run("ack", "--table", routing, "--reps", reps, "--state", state, "--now", "2026-11-24T09:40:00Z",
                       "peter.gibbons@initech.com", "L-1001")
    expect(rc == 0 and out.splitlines()[1:] == ["peter.gibbons@initech.com,acknowledged,priya",
                                                "jane.doe@acmerobotics.com,acknowledged,marcus"],
           f"ack by email and by lead id: {rc} {out!r} {err!r}")
    for lead_id, key in (("L-1003", "peter.gibbons@initech.com"), ("L-1001", "jane.doe@acmerobotics.com")):
        for arg in (lead_id, key):
            rc, out, err = run("explain", "--state", state, "--format", "jsonl", arg)
            events = [json.loads(line) for line in out.splitlines()]
            expect(rc == 0 and [(e["event"], e["key"], e.get("lead")) for e in events]
                   == [("assigned", key, lead_id), ("acknowledged", key, None)]
                   and events[1]["at"] == "2026-11-24T09:40:00Z",
                   f"explain {arg} shows the acknowledgement once: {rc} {events} {err!r}")
        rc, out, err = run("explain", "--state", state, lead_id)
        expect(rc == 0 and "  2026-11-24T09:40:00Z  acknowledged\n" in out, f"explain {lead_id} as text: {out!r}")
        # trimmed, as routing trims the ids and keys it records
        rc, spaced, err = run("explain", "--state", state, f" {lead_id}\t")
        expect(rc == 0 and spaced == out, f"explain ' {lead_id}' finds {lead_id}: {rc} {err!r}")

# a state keeps the dedupe field of its first route: route, simulate and tick --leads
# with another are refused before anything is read or written, with the field to give
    before = routing_state(state)
    refused = (f"leadroute %s: {state}: its leads were routed with dedupe keys from field 'email', this run "
               "takes them from the lead id: the state would not know a lead by that key. Give --dedupe-field "
               "email, or use another state\n")
    for command, extra in (("route", [leads]), ("simulate", [leads]), ("tick", ["--leads", leads])):
        rc, out, err = run(command, "--table", routing, "--reps", reps, "--state", state, "--now",
                           "2026-11-25T09:30:00Z", *extra)
        expect(rc == 2 and out == "" and err == refused % command,
               f"{command} without the state's --dedupe-field is refused: {rc} {out[:200]!r} {err!r}")
    rc, out, err = run("route", "--table", routing, "--reps", reps, leads, "--state", state, "--dedupe-field",
                       "company", "--now", "2026-11-25T09:30:00Z")
    expect(rc == 2 and "dedupe keys from field 'email', this run takes them from field 'company'" in err,
           f"route with another --dedupe-field is refused: {rc} {err!r}")
    expect(routing_state(state) == before, "the refused runs changed no claim and no pool")
    rc, out, err = run("route", "--table", routing, "--reps", reps, leads, "--state", state, "--dedupe-field",
                       "email", "--now", "2026-11-25T09:30:00Z")
    expect(rc == 1 and route_rows(out).get("L-1001", {}).get("status") == "existing",
           f"route with the state's --dedupe-field carries on: {rc} {err!r}")

# a route the router refuses (a dedupe field it cannot take) records no dedupe field:
# the next route makes the state's keys its own way
with tempfile.TemporaryDirectory() as tmp:
    state = os.path.join(tmp, "refused.db")
    rc, out, err = run("route", "--table", routing, "--reps", reps, leads, "--state", state, "--dedupe-field",
                       "x" * 300, "--now", "2026-11-24T09:30:00Z")
    expect(rc == 2 and "dedupe_field must be 1..256 bytes" in err, f"route with a 300-byte field: {rc} {err!r}")
    setting = query_state(state, "SELECT value FROM meta WHERE key = 'cli.dedupe_field'")
    expect(setting == [], f"the refused route recorded no dedupe field: {setting}")
    rc, out, err = run("route", "--table", routing, "--reps", reps, leads, "--state", state, "--dedupe-field",
                       "email", "--now", "2026-11-24T09:30:00Z")
    expect(rc == 1 and route_rows(out).get("L-1001", {}).get("status") == "assigned",
           f"the next route takes its own field: {rc} {err[-300:]!r}")

# a --dedupe-field no lead gives (misspelt, or cased otherwise) is refused before the
# state is opened: every lead would be unrouted, and a new state would be bound to it;
# a route with no lead binds no field either
with tempfile.TemporaryDirectory() as tmp:
    state = os.path.join(tmp, "typo.db")
    for field, hint in (("emial", ""), ("Email", " (a column differs only in case: names are compared exactly)")):
        for command, extra in (("route", [leads]), ("simulate", [leads])):
            rc, out, err = run(command, "--table", routing, "--reps", reps, "--state", state, "--dedupe-field",
                               field, "--now", "2026-11-24T09:30:00Z", *extra)
            expect(rc == 2 and out == "" and err == f"leadroute {command}: {leads}: no lead gives '{field}', the "
                   f"--dedupe-field: every lead would be unrouted{hint}\n" and not os.path.exists(state),
                   f"{command} --dedupe-field {field}: {rc} {out[:200]!r} {err!r}")
    header_only = os.path.join(tmp, "header.csv")
    with open(header_only, "w", encoding="utf-8") as f:
        f.write("id,region,email\n")
    rc, out, err = run("route", "--table", routing, "--reps", reps, header_only, "--state", state,
                       "--dedupe-field", "emial", "--now", "2026-11-24T09:30:00Z")
    setting = (query_state(state, "SELECT value FROM meta WHERE key = 'cli.dedupe_field'")
               if query_state(state, "SELECT 1 FROM sqlite_master WHERE name = 'meta'") else [])
    expect(rc == 0 and setting == [], f"a route of no lead binds no dedupe field: {rc} {setting} {err!r}")
    rc, out, err = run("route", "--table", routing, "--reps", reps, leads, "--state", state, "--dedupe-field",
                       "email", "--now", "2026-11-24T09:30:00Z")
    setting = query_state(state, "SELECT value FROM meta WHERE key = 'cli.dedupe_field'")
    expect(rc == 1 and route_rows(out).get("L-1001", {}).get("status") == "assigned" and setting == [("email",)],
           f"then the right field routes and binds: {rc} {setting} {err[-300:]!r}")
    rc, out, err = run("tick", "--table", routing, "--reps", reps, "--state", state, "--leads", leads,
                       "--dedupe-field", "emial", "--now", "2026-11-24T09:35:00Z")
    expect(rc == 2 and out == "" and "dedupe keys from field 'email', this run takes them from field 'emial'" in err,
           f"tick --leads with a misspelt field is refused by the state's: {rc} {err!r}")

# an acknowledgement timed before its assignment (ack's --now behind route's) is
# recorded at the assignment's time, so explain never shows it first
with tempfile.TemporaryDirectory() as tmp:
    state = os.path.join(tmp, "early-ack.db")
    rc, out, err = run("route", "--table", routing, "--reps", reps, leads, "--state", state,
                       "--now", "2026-11-24T09:30:00Z")
    rep = route_rows(out).get("L-1001", {}).get("rep")
    expect(rep, f"route L-1001: {rc} {err!r}")
    rc, out, err = run("ack", "--table", routing, "--reps", reps, "--state", state, "--now", "2026-11-24T09:00:00Z",
                       "L-1001")
    expect(rc == 0 and out.splitlines()[1:] == [f"L-1001,acknowledged,{rep}"], f"early ack: {rc} {out!r} {err!r}")
    db = sqlite3.connect(state)
    try:
        at, acked = db.execute("SELECT at_ms, acknowledged_ms FROM claims WHERE key = 'lead:L-1001'").fetchone()
    finally:
        db.close()
    expect(acked == at, f"an early acknowledgement is stored at the assignment's time: {acked} vs {at}")
    rc, out, err = run("explain", "--state", state, "--format", "jsonl", "L-1001")
    events = [json.loads(line) for line in out.splitlines()]
    expect(rc == 0 and [(e["event"], e["at"]) for e in events]
           == [("assigned", "2026-11-24T09:30:00Z"), ("acknowledged", "2026-11-24T09:30:00Z")],
           f"explain shows the early acknowledgement after the assignment: {rc} {events} {err!r}")

# a batch that fails is rolled back and routed again, up to 3 times: a lead of
# it that is unrouted is reported on stderr once, not at every attempt (here
# the state refuses the decision of lead 'boom', so every attempt fails)
with tempfile.TemporaryDirectory() as tmp:
    state = os.path.join(tmp, "retry.db")
    rc, out, err = run("route", "--table", routing, "--reps", reps, "-", "--state", state,
                       stdin="id,region,country,language,score\nfirst,EMEA,FR,fr,40\n")
    expect(rc == 0, f"route into a new state: {rc} {err!r}")
    db = sqlite3.connect(state)
    db.execute("CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.lead_id = 'boom' "
               "BEGIN SELECT RAISE(ABORT, 'refused'); END")
    db.commit()
    db.close()
    rc, out, err = run("route", "--table", routing, "--reps", reps, "-", "--state", state,
                       stdin="id,region,employees\nu1,NA,lots\nok2,EMEA,10\nboom,EMEA,10\n")
    expect(rc == 2 and err.count("routing it again") == 3 and err.count("lead u1: unrouted:") == 1,
           f"a retried batch reports its unrouted lead once: {rc} {err!r}")
    retry = f"leadroute route: the decision could not be recorded ({state}: record: refused); the batch (2 leads) " \
        "was rolled back, routing it again"
    expect([line for line in err.splitlines() if line.startswith("leadroute ")]
           == [retry] * 3 + [f"leadroute route: the decision could not be recorded: {state}: record: refused"],
           f"the retries and the failure, whole: {err!r}")

# stdout that cannot be written (a full disk): route stops after the batch it
# could not print, which is committed, and routes nothing more; tick and ack
# say their changes are committed all the same; all exit 2
if os.path.exists("/dev/full"):
    def run_to_full(*args):
        with open("/dev/full", "w") as full:
            p = subprocess.run([tool, *args], stdout=full, stderr=subprocess.PIPE, text=True, cwd=workdir.name)
        return p.returncode, p.stderr

    with tempfile.TemporaryDirectory() as tmp:
        state = os.path.join(tmp, "full.db")
        full_leads = os.path.join(tmp, "full-leads.csv")
        with open(full_leads, "w", encoding="utf-8") as f:
            f.write("id,region,country,language,score\n")
            f.writelines(f"f{i},EMEA,FR,fr,40\n" for i in range(25))
        rc, err = run_to_full("route", "--table", routing, "--reps", reps, full_leads, "--state", state,
                              "--batch", "10", "--now", "2026-11-24T09:30:00Z")
        claims = sorted(read_state(state)) if os.path.exists(state) else None
        expect(rc == 2 and "leadroute: cannot write results: No space left on device\n" in err
               and "stopped after lead f9 (" in err and ":11): it and every lead before it are committed" in err
               and "no later lead was routed" in err and err.count("cannot write results") == 1
               and claims == sorted(f"lead:f{i}" for i in range(10)),
               f"route to a full stdout stops after its first batch: {rc} {err!r} {claims}")
        expect(f"\nleadroute route: stopped after lead f9 ({full_leads}:11): it and every lead before it are "
               "committed, though the records of its batch (from line 2) may be missing; no later lead was routed\n"
               in err, f"route to a full stdout names the batch's first line: {err!r}")
        rc, err = run_to_full("route", "--table", routing, "--reps", reps, full_leads, "--no-state", "--batch", "10")
        expect(rc == 2 and "stopped after lead f9 (" in err and "no later lead was routed" in err,
               f"route --no-state to a full stdout stops too: {rc} {err!r}")
        rc, err = run_to_full("tick", "--table", routing, "--reps", reps, "--state", state,
                              "--now", "2026-11-30T09:30:00Z")
        moved = [k for k, v in read_state(state).items() if v[1] > 0]
        expect(rc == 2 and "cannot write results: No space left on device" in err
               and "the moves are committed all the same" in err and "due 10," in err and moved,
               f"tick to a full stdout says its moves are committed: {rc} {err!r} {moved}")
        rc, err = run_to_full("ack", "--table", routing, "--reps", reps, "--state", state, "f1")
        expect(rc == 2 and "the acknowledgements are committed all the same" in err
               and read_state(state)["lead:f1"][3] != 0, f"ack to a full stdout: {rc} {err!r}")

# a reader that goes away early (`leadroute route ... | head -1`): the failed
# write is reported and route stops with exit 2 instead of dying of SIGPIPE;
# as with a full disk, the batches up to the one it was printing are committed
# and no later lead is routed, so a second run finds each routed lead as
# existing and routes the others: no lead is lost or routed twice
with tempfile.TemporaryDirectory() as tmp:
    state = os.path.join(tmp, "pipe.db")
    pipe_table = os.path.join(tmp, "table.csv")
    pipe_reps = os.path.join(tmp, "reps.csv")
    pipe_leads = os.path.join(tmp, "leads.csv")
    count = 4000  # some 300 KB of records: far more than a pipe holds
    with open(pipe_table, "w", encoding="utf-8") as f:
        f.write("rule,region,out:pool\nall,-,team\n")
    with open(pipe_reps, "w", encoding="utf-8") as f:
        f.write("#! pools\nid,strategy\nteam,round_robin\n#! reps\nid,pools\nana,team\nben,team\n")
    with open(pipe_leads, "w", encoding="utf-8") as f:
        f.write("id,region\n")
        f.writelines(f"p{i},EMEA\n" for i in range(count))
    pipe_args = ["route", "--table", pipe_table, "--reps", pipe_reps, pipe_leads, "--state", state,
                 "--batch", "50", "--now", "2026-11-24T09:30:00Z", "--no-progress"]
    with tempfile.TemporaryFile() as err_file:
        p = subprocess.Popen([tool, *pipe_args], stdout=subprocess.PIPE, stderr=err_file, cwd=workdir.name)
        first_line = p.stdout.readline()
        p.stdout.close()
        try:
            rc = p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
        err_file.seek(0)
        err = err_file.read().decode("utf-8", "replace")
    claims = read_state(state) if os.path.exists(state) else {}
    stopped = [line for line in err.splitlines() if "stopped after lead p" in line]
    last = int(stopped[0].split("stopped after lead p", 1)[1].split(" ", 1)[0]) if len(stopped) == 1 else -1
    expect(rc == 2 and first_line == b"id,status,rep,pool,rule,reason\n"
           and err.count("leadroute: cannot write results: Broken pipe\n") == 1
           and "no later lead was routed" in err and 0 <= last < count - 1 and (last + 1) % 50 == 0
           and sorted(claims) == sorted(f"lead:p{i}" for i in range(last + 1)),
           f"route into a pipe closed early stops with exit 2 (not SIGPIPE), its batches committed: {rc} "
           f"{first_line!r} {err!r} {len(claims)} claims")
    rc, out, err = run(*pipe_args)
    rows = list(csv.DictReader(io.StringIO(out)))
    expect(rc == 0 and [r["id"] for r in rows] == [f"p{i}" for i in range(count)]
           and all(r["status"] == ("existing" if i <= last else "assigned") for i, r in enumerate(rows))
           and all(claims[f"lead:p{i}"][0] == rows[i]["rep"] for i in range(last + 1))
           and len(read_state(state)) == count,
           f"after the closed pipe, a second run finds the routed leads and routes the rest: {rc} {err!r} "
           f"{[(r['id'], r['status']) for r in rows if r['status'] != ('existing' if int(r['id'][1:]) <= last else 'assigned')][:5]}")

    # eval stops at the failed write too, and says why
    eval_leads = os.path.join(tmp, "eval-leads.csv")
    with open(eval_leads, "w", encoding="utf-8") as f:
        f.write("id,region\n")
        f.writelines(f"p{i},EMEA\n" for i in range(100000))  # some 1.5 MB of records
    rc, first_line, err = eval_into_closed_pipe(pipe_table, eval_leads)
    expect(rc == 2 and first_line == b"id,rule,pool\n" and err == "leadroute: cannot write results: Broken pipe\n",
           f"eval into a pipe closed early exits 2 (not SIGPIPE): {rc} {first_line!r} {err!r}")

# a dedupe key longer than 1 KiB (keys may be 4096 bytes) is the key the
# decision is recorded under: ack finds the lead by its id
with tempfile.TemporaryDirectory() as tmp:
    state = os.path.join(tmp, "long.db")
    email = "x" * 2000 + "@example.com"
    longkey = table("id,region,country,employees,score,language,email\n"
                    f"k2,EMEA,FR,40,50,fr,{email}\n")
    rc, out, err = run("route", "--table", routing, "--reps", reps, longkey, "--state", state,
                       "--dedupe-field", "email")
    expect(rc == 0 and route_rows(out)["k2"]["status"] == "assigned", f"route with a long key: {rc} {out!r} {err!r}")
    rc, out, err = run("ack", "--table", routing, "--reps", reps, "--state", state, "k2")
    expect(rc == 0, f"ack by lead id of a lead with a 2 KB dedupe key: {rc} {out!r} {err!r}")

# a lead id holding a newline or an escape cannot forge a line of stderr
forged = table('id,region,employees\n"evil\nfake.csv:99: lead X: unrouted\x1b[2J",NA,lots\n')
rc, out, err = run("eval", routing, forged)
expect(rc == 1 and not any(line.startswith("fake.csv") for line in err.splitlines())
       and "lead evil\\x0afake.csv:99: lead X: unrouted\\x1b[2J: lead field 'employees'" in err
       and "\x1b" not in err, f"eval escapes the lead id in its message: {rc} {err!r}")

# ---- check, eval and bench: usage, summaries, records ------------------------
# --help prints the command's own usage on stdout and exits 0
for command, first_line in (("check", "usage: leadroute check TABLE [--format text|csv|jsonl]"),
                            ("eval", "usage: leadroute eval TABLE LEADS.csv [--format csv|jsonl]"),
                            ("bench", "usage: leadroute bench TABLE LEADS.csv [--seconds S]")):
    for flag in ("--help", "-h"):
        rc, out, err = run(command, routing, flag)
        expect(rc == 0 and (out.startswith(first_line + " ") or out.startswith(first_line + "\n"))
               and err == "", f"{command} {flag}: {rc} {out[:100]!r} {err!r}")
# usage mistakes: exit 2, one line naming the mistake and the command's --help, nothing on stdout
for command, args, message in (
        ("check", (), "leadroute check: expected a TABLE file (try 'leadroute check --help')"),
        ("check", (routing, leads), f"leadroute check: unexpected argument '{leads}' (try 'leadroute check --help')"),
        ("check", (routing, "--format", "xml"),
         "leadroute check: --format: 'xml' is not one of text, csv, jsonl (try 'leadroute check --help')"),
        ("eval", (routing,), "leadroute eval: expected TABLE and LEADS.csv files (try 'leadroute eval --help')"),
        ("eval", (routing, leads, routing),
         f"leadroute eval: unexpected argument '{routing}' (try 'leadroute eval --help')"),
        # the first argument too many, however many follow
        ("check", (routing, leads, "third.csv"), f"leadroute check: unexpected argument '{leads}'"),
        ("eval", (routing, leads, "third.csv", "fourth.csv"), "leadroute eval: unexpected argument 'third.csv'"),
        ("eval", ("-", "-"), "leadroute eval: only one of TABLE and LEADS.csv can be '-' (try 'leadroute eval --help')"),
        ("eval", (routing, leads, "--format", "text"),
         "leadroute eval: --format: 'text' is not one of csv, jsonl (try 'leadroute eval --help')"),
        ("eval", (routing, leads, "--format"), "leadroute eval: --format needs a value (try 'leadroute eval --help')"),
        ("eval", (routing, leads, "--formats=csv"), "leadroute eval: unknown option '--formats=csv'"),
        ("bench", (routing,), "leadroute bench: expected TABLE and LEADS.csv files (try 'leadroute bench --help')"),
        ("bench", ("-", "-"), "leadroute bench: only one of TABLE and LEADS.csv can be '-'"),
        ("bench", (routing, "-", "--seconds", "86400.5"), "leadroute bench: --seconds: '86400.5' is not a number")):
    rc, out, err = run(command, *args, stdin="")
    expect(rc == 2 and out == "" and err.startswith(message) and err.count("\n") == 1,
           f"{command} {' '.join(args)}: {rc} {out!r} {err!r}")
# '--' ends the options: a file named like one is a file
dashed = os.path.join(workdir.name, "--table.csv")
with open(dashed, "w", encoding="utf-8") as f:
    f.write("rule,region,out:pool\na,-,x\n")
rc, out, err = run("check", "--", "--table.csv")
expect(rc == 0 and out.startswith("--table.csv: 1 rule, ") and err == "", f"check -- FILE: {rc} {out!r} {err!r}")
os.unlink(dashed)
# a leads file that cannot be read is exit 2, as a table that cannot
for command in ("eval", "bench"):
    rc, out, err = run(command, routing, os.path.join(data, "no-such-leads.csv"))
    expect(rc == 2 and out == "" and "no-such-leads.csv: cannot open" in err,
           f"{command} of a missing leads file: {rc} {out!r} {err!r}")

# the summary line of check, whole
summary = re.compile(r"(.*), hash [0-9a-f]{16}, \d+ bytes compiled, (.*)\n")


def check_summary(*args, stdin=None):
    rc, out, err = run("check", *args, stdin=stdin)
    m = summary.fullmatch(out.splitlines(True)[-1]) if out else None
    return rc, (m.group(1), m.group(2)) if m else out, err


rc, got, err = check_summary(routing)
expect(rc == 0 and got == (f'{routing}: "inbound routing" version 2026-11: 20 rules, 8 inputs, 6 outputs, '
                           "hit policy first", "0 lint findings"), f"check summary of the sample: {rc} {got!r}")
for text, want in (("#! name:\n#! version:\nrule,region,out:pool\na,-,x\n",
                    "1 rule, 1 input, 1 output, hit policy first"),
                   ("#! version: 3\n#! hit_policy: unique\nrule,region,employees:number,out:pool,out:o\na,-,-,x,y\n",
                    "version 3: 1 rule, 2 inputs, 2 outputs, hit policy unique"),
                   ("#! name: n\n#! hit_policy: rule order\nrule,region,out:pool\na,-,x\nb,-,y\n",
                    '"n": 2 rules, 1 input, 1 output, hit policy rule order'),
                   ("#! hit_policy: collect\n#! aggregation: sum\nrule,region,out:points:number\na,-,1\nb,EMEA,2\n",
                    "2 rules, 1 input, 1 output, hit policy collect (sum)")):
    path = table(text)
    rc, got, err = check_summary(path)
    expect(rc == 0 and got == (f"{path}: {want}", "0 lint findings"), f"check summary: {rc} {got!r} {err!r}")
    os.unlink(path)
# from standard input, the table is <stdin>
rc, got, err = check_summary("-", stdin="rule,region,out:pool\na,-,x\nb,EMEA,y\n")
expect(rc == 1 and got == ("<stdin>: 2 rules, 1 input, 1 output, hit policy first", "1 lint finding"),
       f"check summary of standard input: {rc} {got!r} {err!r}")
# '--format text' is the text of the default
shadowed = table("rule,region,out:pool\na,-,x\nb,EMEA,y\n")
rc, out, err = run("check", shadowed, "--format", "text")
expect(rc == 1 and out == run("check", shadowed)[1] and out.startswith(f"{shadowed}:3: rule 'b' can never fire"),
       f"check --format text: {rc} {out!r} {err!r}")
# counts: one notice alone (csv: on stderr)
cut_short = table("rule,c1,c2,c3,c4,c5,c6,c7,c8,out:o\n"
                  + "".join(f'r{i},"a, b, c",-,-,-,-,-,-,{v},x\n' for i, v in enumerate(("a", "b", "c", "null")))
                  + "j" + ',"a, b, c, null"' * 8 + ",y\nall,-,-,-,-,-,-,-,-,z\n")
rc, out, err = run("check", cut_short, "--format", "csv")
expect(rc == 0 and err == "0 lint findings, 1 notice\n", f"check counts one notice: {rc} {err!r}")
os.unlink(cut_short)
# check --format csv and jsonl: empty cells for what a finding lacks, the example lead
no_match = table("rule,region,out:pool\na,EMEA,x\n")
for path, fields in ((shadowed, {"kind": "shadowed", "rule": "b", "line": 3, "other_rule": "a", "other_line": 2,
                                 "message": f"{shadowed}:3: rule 'b' can never fire: rule 'a' (line 2) before it "
                                            "matches every lead it matches"}),
                     (no_match, {"kind": "no_match", "example": "region=zz-other",
                                 "message": f"{no_match}: no rule matches some leads (the table has no catch-all "
                                            "rule); for example: region=zz-other"})):
    rc, out, err = run("check", path, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    want = {k: "" for k in ("kind", "rule", "line", "other_rule", "other_line", "example", "message")}
    want.update({k: str(v) for k, v in fields.items()})
    expect(rc == 1 and rows == [want] and err == "1 lint finding\n", f"check --format csv: {rc} {out!r} {err!r}")
    rc, out, err = run("check", path, "--format", "jsonl")
    expect(rc == 1 and [json.loads(line) for line in out.splitlines()] == [fields],
           f"check --format jsonl: {rc} {out!r} {err!r}")
os.unlink(no_match)
os.unlink(shadowed)

# eval: CSV quoting (separators, quotes, line breaks, blanks at the ends), numbers that
# read back exactly, JSON escapes, booleans, and a lead no rule matches (an empty rule;
# in JSON lines "rule": "" and no outputs)
outputs = table('rule,region,out:pool,out:hot:bool,out:n:number\n'
                'a,EMEA,""" x""",true,100000\n'
                'b,NA,"""y \\""z\\"", w""",false,0.30000000000000004\n'
                'c,LATAM,"""a\\\\b\ttab\x1f""",,1e20\n'
                'd,APAC,"""\tt""",,-0.1\n'
                'e,CR,"""a\rb""",true,1\n'
                'f,FF,"""x """,,\n')
eval_leads = 'id,region\nl1,EMEA\nl2,NA\nl3,LATAM\nl4,APAC\nl5,XX\n"q""x, y",CR\nl6,FF\n'
p = subprocess.run([tool, "eval", outputs, "-"], input=eval_leads.encode(), capture_output=True, cwd=workdir.name)
expect(p.returncode == 0 and p.stdout == b'id,rule,pool,hot,n\nl1,a," x",true,100000\n'
       b'l2,b,"y ""z"", w",false,0.30000000000000004\nl3,c,a\\b\ttab\x1f,,1e+20\nl4,d,"\tt",,-0.1\nl5,,,,\n'
       b'"q""x, y",e,"a\rb",true,1\nl6,f,"x ",,\n' and p.stderr == b"", f"eval CSV fields: {p.returncode} {p.stdout!r} {p.stderr!r}")
p = subprocess.run([tool, "eval", outputs, "-", "--format", "jsonl"], input=eval_leads.encode(), capture_output=True,
                   cwd=workdir.name)
expect(p.returncode == 0 and p.stdout.decode().splitlines() == [
    '{"id":"l1","rule":"a","pool":" x","hot":true,"n":100000}',
    '{"id":"l2","rule":"b","pool":"y \\"z\\", w","hot":false,"n":0.30000000000000004}',
    '{"id":"l3","rule":"c","pool":"a\\\\b\\ttab\\u001f","n":1e+20}',
    '{"id":"l4","rule":"d","pool":"\\tt","n":-0.1}',
    '{"id":"l5","rule":""}',
    '{"id":"q\\"x, y","rule":"e","pool":"a\\rb","hot":true,"n":1}',
    '{"id":"l6","rule":"f","pool":"x "}'],
       f"eval JSON lines: {p.returncode} {p.stdout!r} {p.stderr!r}")
os.unlink(outputs)
# a lead that fails and a row that cannot be read, from standard input: named <stdin>, in line order
numbers = table("rule,score:number,out:pool\nhot,>=50,p\n")
rc, out, err = run("eval", numbers, "-", stdin="id,score\na,12\nb,many\nc,x,y\nd,60\n")
expect(rc == 1 and out == "id,rule,pool\na,,\nd,hot,p\n"
       and err == "<stdin>:3: lead b: lead field 'score': 'many' is not a number\n"
                  "<stdin>:4: row has 3 cells, the header has 2 (row skipped)\n",
       f"eval from standard input names <stdin>: {rc} {out!r} {err!r}")

# bench: the figures agree with each other and with what was measured
rc, out, err = run("bench", numbers, "-", "--seconds", "0.2", "--format", "jsonl",
                   stdin="id,score\na,12\nb,many\nc,x,y\nd,60\n")
figures = json.loads(out) if out.count("\n") == 1 else {}
expect(rc == 1 and set(figures) == {"table", "rules", "leads", "evaluations", "seconds", "per_second",
                                    "ns_per_evaluation", "hits", "errors"}
       and figures["table"] == numbers and figures["rules"] == 1 and figures["leads"] == 3
       and 0.2 <= figures["seconds"] < 1.5 and figures["evaluations"] % 3 == 0
       and figures["hits"] * 3 == figures["evaluations"] and figures["errors"] * 3 == figures["evaluations"]
       and abs(figures["per_second"] * figures["seconds"] / figures["evaluations"] - 1) < 1e-6
       and abs(figures["ns_per_evaluation"] * figures["evaluations"] / figures["seconds"] / 1e9 - 1) < 1e-6
       and err == "<stdin>:4: row has 3 cells, the header has 2 (row skipped)\n"
                  f"<stdin>:3: lead b: lead field 'score': 'many' is not a number (the first of {figures['errors']} "
                  "failed evaluations)\n", f"bench figures: {rc} {out!r} {err!r}")
rc, out, err = run("bench", numbers, "-", "--seconds", "0.05", "--format", "csv", stdin="id,score\na,12\nd,60\n")
rows = list(csv.DictReader(io.StringIO(out)))
expect(rc == 0 and len(rows) == 1 and rows[0]["table"] == numbers and rows[0]["leads"] == "2"
       and rows[0]["errors"] == "0" and float(rows[0]["hits"]) * 2 == float(rows[0]["evaluations"]) and err == "",
       f"bench --format csv: {rc} {out!r} {err!r}")
# rows skipped alone make exit 1
rc, out, err = run("bench", numbers, "-", "--seconds", "0.05", "--format", "csv", stdin="id,score\na,12\nc,x,y\nd,60\n")
rows = list(csv.DictReader(io.StringIO(out)))
expect(rc == 1 and len(rows) == 1 and rows[0]["leads"] == "2" and rows[0]["errors"] == "0"
       and err == "<stdin>:3: row has 3 cells, the header has 2 (row skipped)\n",
       f"bench with a row skipped exits 1: {rc} {out!r} {err!r}")
# the text, from a table on standard input; the default is about two seconds
numbers_text = "rule,score:number,out:pool\nhot,>=50,p\nwarm,>=30,q\n"
bench_leads = os.path.join(workdir.name, "bench-leads.csv")
with open(bench_leads, "w", encoding="utf-8") as f:
    f.write("id,score\na,12\nb,many\nc,x,y\nd,60\n")
rc, out, err = run("bench", "-", bench_leads, stdin=numbers_text)
lines = out.splitlines()
m = re.fullmatch(r"evaluations: (\d+) in (\d+\.\d{3}) s", lines[2]) if len(lines) == 5 else None
t = re.fullmatch(r"throughput:  (\d+) evaluations/s, (\d+\.\d) ns/evaluation", lines[3]) if m else None
expect(rc == 1 and t and lines[:2] == ["table:       <stdin> (2 rules, hit policy first)", "leads:       3 (1 row skipped)"]
       and 2.0 <= float(m.group(2)) < 3.5 and abs(int(t.group(1)) * float(m.group(2)) / int(m.group(1)) - 1) < 0.01
       and abs(int(t.group(1)) * float(t.group(2)) / 1e9 - 1) < 0.01
       and lines[4] == f"hits:        {int(m.group(1)) // 3} (0.33 per evaluation), {int(m.group(1)) // 3} evaluation errors",
       f"bench text: {rc} {out!r} {err!r}")
# one rule and one lead: the singular
with open(bench_leads, "w", encoding="utf-8") as f:
    f.write("id,score\nd,60\n")
rc, out, err = run("bench", "-", bench_leads, "--seconds", "0.2", stdin="rule,score:number,out:pool\nhot,>=50,p\n")
lines = out.splitlines()
expect(rc == 0 and len(lines) == 5 and lines[:2] == ["table:       <stdin> (1 rule, hit policy first)",
                                                      "leads:       1 (0 rows skipped)"]
       and lines[4].endswith(" (1.00 per evaluation), 0 evaluation errors") and err == "",
       f"bench text of one rule: {rc} {out!r} {err!r}")
os.unlink(bench_leads)
os.unlink(numbers)

# the command line itself: no command, -h and help, --version, an unknown option
rc, out, err = run()
expect(rc == 2 and out == "" and err == "leadroute: missing command (try 'leadroute --help')\n",
       f"leadroute without a command: {rc} {out!r} {err!r}")
for flag in ("-h", "help"):
    rc, out, err = run(flag)
    expect(rc == 0 and out.startswith("usage: leadroute [--help] [--version] COMMAND [ARGS]\n") and err == "",
           f"leadroute {flag}: {rc} {out[:80]!r} {err!r}")
rc, out, err = run("--version")
expect(rc == 0 and re.fullmatch(r"leadroute \d+\.\d+\.\d+ \(libleadroute \d+\.\d+\.\d+\)\n", out) and err == "",
       f"leadroute --version: {rc} {out!r} {err!r}")
rc, out, err = run("-x")
expect(rc == 2 and out == "" and err == "leadroute: unknown option '-x' (try 'leadroute --help')\n",
       f"leadroute -x: {rc} {out!r} {err!r}")
# --help whole, as tests/cli/expected-help.txt has it: every command with its synopsis,
# the default state file, the size limit, the exit statuses
with open(os.path.join(os.path.dirname(os.path.abspath(expected)), "expected-help.txt"), encoding="utf-8") as f:
    expected_help = f.read()
rc, out, err = run("--help")
expect(rc == 0 and out == expected_help and err == "",
       f"leadroute --help differs from expected-help.txt: {rc} {err!r} " +
       repr([line for line in out.splitlines() if line + "\n" not in expected_help][:5]))
# a command or an option is matched whole: a prefix, an abbreviation or a longer
# word is a usage error (exit 2, one line, nothing on stdout); '-' alone is an option
for word, kind in (("chec", "command"), ("checks", "command"), ("evaluate", "command"), ("helpme", "command"),
                   ("-hx", "option"), ("--hel", "option"), ("--ver", "option"), ("--versions", "option"),
                   ("-", "option")):
    rc, out, err = run(word, routing)
    expect(rc == 2 and out == "" and err == f"leadroute: unknown {kind} '{word}' (try 'leadroute --help')\n",
           f"leadroute {word}: {rc} {out[:80]!r} {err!r}")
# --version and --help on a stdout that cannot be written: exit 2 and the reason
if os.path.exists("/dev/full"):
    for flag in ("--version", "--help"):
        with open("/dev/full", "w") as full:
            p = subprocess.run([tool, flag], stdout=full, stderr=subprocess.PIPE, text=True, cwd=workdir.name)
        expect(p.returncode == 2 and p.stderr == "leadroute: cannot write results: No space left on device\n",
               f"leadroute {flag} > /dev/full: {p.returncode} {p.stderr!r}")

# lead ids in messages: DEL, C1 controls and the line separators are escaped, a long id is not cut
numbers = table("rule,score:number,out:pool\nhot,>=50,p\n")
ids = [b"a\x7f", b"b\xc2\x9f", b"c\xe2\x80\xa9", b"d\xe2\x80\xa8", b"\x01" * 4096]
p = subprocess.run([tool, "eval", numbers, "-"], input=b"id,score\n" + b"".join(b'"%s",x\n' % i for i in ids),
                   capture_output=True, cwd=workdir.name)
expect(p.returncode == 1 and p.stderr.decode().splitlines() == [
    f"<stdin>:{n + 2}: lead {shown}: lead field 'score': 'x' is not a number"
    for n, shown in enumerate(("a\\x7f", "b\\xc2\\x9f", "c\\xe2\\x80\\xa9", "d\\xe2\\x80\\xa8", "\\x01" * 4096))],
       f"eval escapes lead ids: {p.returncode} {p.stderr[:300]!r}")
# a directory is a file that cannot be read
rc, out, err = run("check", workdir.name)
expect(rc == 2 and out == "" and err == f"leadroute: {workdir.name}: cannot read: Is a directory\n",
       f"check of a directory: {rc} {out!r} {err!r}")
# the inputs the leads lack are reported only when there are leads, and a lead's
# empty cell does not make the file lack its column
for text in ("id,score\n", "id,score\na,\nb,60\n"):
    rc, out, err = run("eval", numbers, "-", stdin=text)
    expect(rc == 0 and err == "", f"eval of {text!r}: no note on missing inputs: {rc} {out!r} {err!r}")
rc, out, err = run("bench", numbers, "-", stdin="id,score\n")
expect(rc == 2 and out == "" and err == "leadroute bench: no leads to evaluate\n", f"bench of no leads: {rc} {err!r}")
os.unlink(numbers)
# an input named like a routed output is no mistake when the table also has that output
both = table("rule,pool,out:pool\nr1,-,x\n")
rc, out, err = run("check", both)
expect(rc == 0 and err == "", f"check of a table with input and output pool: {rc} {err!r}")
os.unlink(both)
# a file of exactly 256 MiB is read (and here refused for its NUL bytes, not its size)
exact = os.path.join(workdir.name, "exact.csv")
with open(exact, "wb") as f:
    f.truncate(256 << 20)
rc, out, err = run("check", exact)
expect(rc == 2 and err == f"leadroute: {exact}:1:1: NUL byte: the file is not UTF-8 text (a UTF-16 or binary file?)\n",
       f"a file of exactly 256 MiB is read: {rc} {err!r}")
os.unlink(exact)
# eval stops at a failed write: no lead after it is evaluated (the last would fail and be reported)
numbers = table("rule,score:number,out:pool\nhot,>=50,p\n")
with tempfile.TemporaryDirectory() as tmp:
    stop_leads = os.path.join(tmp, "stop-leads.csv")
    with open(stop_leads, "w", encoding="utf-8") as f:
        f.write("id,score\n")
        f.writelines(f"s{i},60\n" for i in range(100000))  # some 1 MB of records
        f.write("last,many\n")
    rc, first_line, err = eval_into_closed_pipe(numbers, stop_leads)
    expect(rc == 2 and first_line == b"id,rule,pool\n" and err == "leadroute: cannot write results: Broken pipe\n",
           f"eval evaluates no lead past a failed write: {rc} {first_line!r} {err!r}")
os.unlink(numbers)


# ---- route, tick, ack, explain and simulate: whole records and messages -----
# route: a row that cannot be read is exit 1 though every lead is assigned,
# and one after the last lead is reported too
route_table = table("rule,region,out:pool\nr1,-,team\n")
route_reps = table("#! pools\nid,strategy\nteam,round_robin\n#! reps\nid,pools\na,team\nb,team\n")
last_bad = table("id,region\nw1,EMEA\nbad,row,extra\n")
rc, out, err = run("route", "--table", route_table, "--reps", route_reps, last_bad, "--no-state")
expect(rc == 1 and out == "id,status,rep,pool,rule,reason\n"
       "w1,assigned,a,team,r1,\"pool team, round robin among 2 eligible of 2 members\"\n"
       and err == f"{last_bad}:3: row has 3 cells, the header has 2 (row skipped)\n",
       f"route with a last row skipped: {rc} {out!r} {err!r}")
# the leads file counts among the files that can be '-'
rc, out, err = run("route", "--table", "-", "--reps", route_reps, "-", "--no-state", stdin="id,region\nw1,EMEA\n")
expect(rc == 2 and out == "" and err == "leadroute route: only one of the files can be '-' (try 'leadroute route --help')\n",
       f"route --table - with leads from '-': {rc} {out!r} {err!r}")
# a --state value that is a PostgreSQL connection string (a keyword, blanks, '=') is no SQLite file
for spec in ("dbname = leadroute_no_such_db", "connect_timeout=1"):
    rc, out, err = run("route", "--table", route_table, "--reps", route_reps, last_bad, "--state", spec)
    expect(rc == 2 and out == "" and not os.path.exists(os.path.join(workdir.name, spec)),
           f"route --state {spec!r} is a PostgreSQL database: {rc} {out!r} {err!r}")
for path in (last_bad,):
    os.unlink(path)

with tempfile.TemporaryDirectory() as tmp:
    # tick: one record per move with the deadline it missed (listed in deadline
    # order, not key order), skill filters of --leads, a lead no one can take kept
    x_table = os.path.join(tmp, "table.csv")
    x_reps = os.path.join(tmp, "reps.csv")
    x_state = os.path.join(tmp, "state.db")
    with open(x_table, "w", encoding="utf-8") as f:
        f.write("rule,region,out:pool\nr1,EMEA,team\nr2,SOLO,solo\nr3,FR,lang\n")
    with open(x_reps, "w", encoding="utf-8") as f:
        f.write("#! pools\nid,strategy,sla_minutes,max_hops,escalation_owner,filters\nteam,round_robin,60,1,boss,\n"
                "solo,round_robin,30,,,\nlang,round_robin,60,,,language=languages\n"
                "#! reps\nid,pools,languages\na,team,\nb,team,\nboss,,\ns1,solo,\np,lang,fr\nq,lang,de\nr,lang,fr\n")
    x_leads = os.path.join(tmp, "leads.csv")
    with open(x_leads, "w", encoding="utf-8") as f:
        f.write("id,region,language\nzz,EMEA,\nbroken\naa,EMEA,\ns,SOLO,\nf,FR,fr\n")
    ROW = "pool {0}, round robin among {1} eligible of {2} members"
    for stdin, now, rows in (("id,region,language\nzz,EMEA,\ns,SOLO,\nf,FR,fr\n", "2026-01-01T00:00:00Z",
                              ["zz,assigned,a,team,r1,\"" + ROW.format("team", 2, 2) + "\"",
                               "s,assigned,s1,solo,r2,\"" + ROW.format("solo", 1, 1) + "\"",
                               "f,assigned,p,lang,r3,\"" + ROW.format("lang", 2, 3) + "\""]),
                             ("id,region,language\naa,EMEA,\n", "2026-01-01T00:01:00Z",
                              ["aa,assigned,b,team,r1,\"" + ROW.format("team", 2, 2) + "\""])):
        rc, out, err = run("route", "--table", x_table, "--reps", x_reps, "--state", x_state, "--now", now, "-",
                           stdin=stdin)
        expect(rc == 0 and out.splitlines()[1:] == rows, f"route into the tick state at {now}: {rc} {out!r} {err!r}")
    rc, out, err = run("tick", "--table", x_table, "--reps", x_reps, "--state", x_state,
                       "--now", "2026-01-01T02:00:00Z", "--leads", x_leads)
    expect(rc == 0 and out == "key,action,from,to,pool,reason\n"
           "f,reassigned,p,r,lang,not followed up by 2026-01-01T01:00:00Z; reassigned within pool lang\n"
           "zz,reassigned,a,b,team,not followed up by 2026-01-01T01:00:00Z; reassigned within pool team\n"
           "aa,reassigned,b,a,team,not followed up by 2026-01-01T01:01:00Z; reassigned within pool team\n"
           and err == f"{x_leads}:3: row has 1 cell, the header has 3 (row skipped)\n"
           "due 4, reassigned 3, escalated 0, kept 1, raced 0\n", f"tick with --leads: {rc} {out!r} {err!r}")
    rc, out, err = run("tick", "--table", x_table, "--reps", x_reps, "--state", x_state,
                       "--now", "2026-01-01T04:00:00Z", "--format", "jsonl")
    expect(rc == 0 and [json.loads(line) for line in out.splitlines()] == [
        {"key": "aa", "action": "escalated", "from": "a", "to": "boss",
         "reason": "not followed up by 2026-01-01T03:00:00Z after 1 reassignment; escalated to boss"},
        {"key": "f", "action": "reassigned", "from": "r", "to": "q", "pool": "lang",
         "reason": "not followed up by 2026-01-01T03:00:00Z; reassigned within pool lang"},
        {"key": "zz", "action": "escalated", "from": "b", "to": "boss",
         "reason": "not followed up by 2026-01-01T03:00:00Z after 1 reassignment; escalated to boss"}]
           and err == "due 4, reassigned 1, escalated 2, kept 1, raced 0\n", f"tick to escalation: {rc} {out!r} {err!r}")
    # ack trims what it is given as the router trims keys (blanks, tabs)
    rc, out, err = run("ack", "--table", x_table, "--reps", x_reps, "--state", x_state,
                       "--now", "2026-01-01T05:00:00Z", " zz ", "s\t")
    expect(rc == 0 and out == "key,status,rep\nzz,acknowledged,boss\ns,acknowledged,s1\n" and err == "",
           f"ack of keys with blanks around them: {rc} {out!r} {err!r}")
    # explain: every event of each lead, a blank line between leads
    trace = ("    lead {0} (key {0}): assigned to {1} from pool team\n"
             "    rule r1 (line 2) of table acf30481a76480bd; sla 60 min\n"
             "    pools walked: team\n"
             "    picked by: round robin; state before \"{2}\" after \"{3}\"\n"
             "    at {4}.000Z\n"
             "    candidates:\n"
             "      a  team  {5}\n"
             "      b  team  {6}\n"
             "    reason: pool team, round robin among 2 eligible of 2 members\n")
    rc, out, err = run("explain", "--state", x_state, "zz", "aa")
    expect(rc == 0 and err == "" and out ==
           "zz (key zz)\n  2026-01-01T00:00:00Z  assigned\n"
           + trace.format("zz", "a", "", "rr2\\nb\\na", "2026-01-01T00:00:00", "chosen", "eligible") +
           "  2026-01-01T02:00:00Z  reassigned\n"
           "    a -> b: not followed up by 2026-01-01T01:00:00Z; reassigned within pool team\n"
           "  2026-01-01T04:00:00Z  escalated\n"
           "    b -> boss: not followed up by 2026-01-01T03:00:00Z after 1 reassignment; escalated to boss\n"
           "  2026-01-01T05:00:00Z  acknowledged\n    acknowledged\n"
           "\n"
           "aa (key aa)\n  2026-01-01T00:01:00Z  assigned\n"
           + trace.format("aa", "b", "rr2\\nb\\na", "rr2\\na\\nb", "2026-01-01T00:01:00", "eligible", "chosen") +
           "  2026-01-01T02:00:00Z  reassigned\n"
           "    b -> a: not followed up by 2026-01-01T01:01:00Z; reassigned within pool team\n"
           "  2026-01-01T04:00:00Z  escalated\n"
           "    a -> boss: not followed up by 2026-01-01T03:00:00Z after 1 reassignment; escalated to boss\n",
           f"explain as text: {rc} {out!r} {err!r}")
    rc, out, err = run("explain", "--state", x_state, "--format", "jsonl", "zz")
    lines = out.splitlines()
    events = [json.loads(line) for line in lines[1:]]
    expect(rc == 0 and len(lines) == 4 and lines[0].startswith(
        '{"at":"2026-01-01T00:00:00Z","event":"assigned","key":"zz","lead":"zz","detail":{"text":"lead zz (key zz)')
           and events == [
        {"at": "2026-01-01T02:00:00Z", "event": "reassigned", "key": "zz", "lead": "zz",
         "detail": {"key": "zz", "action": "reassigned", "from": "a", "to": "b", "pool": "team",
                    "reason": "not followed up by 2026-01-01T01:00:00Z; reassigned within pool team"}},
        {"at": "2026-01-01T04:00:00Z", "event": "escalated", "key": "zz", "lead": "zz",
         "detail": {"key": "zz", "action": "escalated", "from": "b", "to": "boss",
                    "reason": "not followed up by 2026-01-01T03:00:00Z after 1 reassignment; escalated to boss"}},
        {"at": "2026-01-01T05:00:00Z", "event": "acknowledged", "key": "zz", "detail": {"status": "acknowledged"}}],
           f"explain --format jsonl: {rc} {out!r} {err!r}")
    # a detail that is not a JSON object (a state edited by hand) is null in JSON lines
    forged_detail = os.path.join(tmp, "forged-detail.db")
    shutil.copyfile(x_state, forged_detail)
    db = sqlite3.connect(forged_detail)
    db.execute("UPDATE events SET detail = 'followed up' WHERE kind = 'acknowledged'")
    db.commit()
    db.close()
    rc, out, err = run("explain", "--state", forged_detail, "--format", "jsonl", "zz")
    expect(rc == 0 and out.splitlines()[3:] == ['{"at":"2026-01-01T05:00:00Z","event":"acknowledged","key":"zz","detail":null}'],
           f"explain --format jsonl of a detail that is no object: {rc} {out[-300:]!r} {err!r}")
    # explain's messages: a key with no decision names the state; --now does not apply; no state file
    rc, out, err = run("explain", "--state", x_state, "nobody")
    expect(rc == 1 and out == "" and err == f"leadroute explain: no recorded decision for 'nobody' in {x_state}\n",
           f"explain of an unknown key: {rc} {out!r} {err!r}")
    rc, out, err = run("explain", "--state", x_state, "--now", "2026-01-01T00:00:00Z", "zz")
    expect(rc == 2 and out == "" and err == "leadroute explain: explain reads a state database: --no-state and --now "
           "do not apply (try 'leadroute explain --help')\n", f"explain --now: {rc} {out!r} {err!r}")
    missing_state = os.path.join(tmp, "missing.db")
    rc, out, err = run("explain", "--state", missing_state, "zz")
    expect(rc == 2 and out == "" and err == f"leadroute explain: no state database '{missing_state}' (route some "
           "leads first, or give --state FILE) (try 'leadroute explain --help')\n" and not os.path.exists(missing_state),
           f"explain of a missing state: {rc} {out!r} {err!r}")
    # a state routed by lead id refuses --dedupe-field, and says to give none
    rc, out, err = run("route", "--table", x_table, "--reps", x_reps, "--state", x_state, "--dedupe-field", "email",
                       "-", stdin="id,region,email\nzz,EMEA,z@x.com\n")
    expect(rc == 2 and out == "" and err == f"leadroute route: {x_state}: its leads were routed with dedupe keys from "
           "the lead id, this run takes them from field 'email': the state would not know a lead by that key. Give no "
           "--dedupe-field, or use another state\n", f"route --dedupe-field into a state of lead ids: {rc} {out!r} {err!r}")

    # explain by lead id, keys of two routes: the acknowledgements of both keys in
    # time order among the lead's own events; one timed at its assignment comes after it
    m_state = os.path.join(tmp, "keys.db")
    for stdin, now in (("id,region,email\nX,EMEA,e1@x.com\nY,EMEA,e3@x.com\n", "2026-01-01T00:00:00Z"),
                       ("id,region,email\nX,EMEA,e2@x.com\n", "2026-01-01T00:01:00Z")):
        rc, out, err = run("route", "--table", x_table, "--reps", x_reps, "--state", m_state, "--dedupe-field", "email",
                           "--now", now, "-", stdin=stdin)
        expect(rc == 0, f"route by email at {now}: {rc} {out!r} {err!r}")
    for key, now in (("e2@x.com", "2026-01-01T00:10:00Z"), ("e1@x.com", "2026-01-01T00:20:00Z"),
                     ("Y", "2025-12-31T23:50:00Z")):
        rc, out, err = run("ack", "--table", x_table, "--reps", x_reps, "--state", m_state, "--now", now, key)
        expect(rc == 0, f"ack {key}: {rc} {out!r} {err!r}")
    rc, out, err = run("explain", "--state", m_state, "--format", "jsonl", "X", "Y")
    events = [(e["at"], e["event"], e["key"], e.get("lead")) for e in map(json.loads, out.splitlines())]
    expect(rc == 0 and events == [("2026-01-01T00:00:00Z", "assigned", "e1@x.com", "X"),
                                  ("2026-01-01T00:01:00Z", "assigned", "e2@x.com", "X"),
                                  ("2026-01-01T00:10:00Z", "acknowledged", "e2@x.com", None),
                                  ("2026-01-01T00:20:00Z", "acknowledged", "e1@x.com", None),
                                  ("2026-01-01T00:00:00Z", "assigned", "e3@x.com", "Y"),
                                  ("2026-01-01T00:00:00Z", "acknowledged", "e3@x.com", None)],
           f"explain by lead id with acknowledgements of two keys: {rc} {events} {err!r}")
    # tick --leads finds a lead by its key: of two leads with one email, the first in the file
    d_state = os.path.join(tmp, "dedupe-tick.db")
    rc, out, err = run("route", "--table", x_table, "--reps", x_reps, "--state", d_state, "--dedupe-field", "email",
                       "--now", "2026-01-01T00:00:00Z", "-", stdin="id,region,language,email\nf1,FR,fr,e@x.com\n")
    expect(rc == 0 and out.splitlines()[1:2] == ["f1,assigned,p,lang,r3,\"" + ROW.format("lang", 2, 3) + "\""],
           f"route f1 by email: {rc} {out!r} {err!r}")
    d_leads = os.path.join(tmp, "dedupe-leads.csv")
    with open(d_leads, "w", encoding="utf-8") as f:
        f.write("id,region,language,email\nf1,FR,fr,e@x.com\nf2,FR,de,e@x.com\n")
    rc, out, err = run("tick", "--table", x_table, "--reps", x_reps, "--state", d_state, "--dedupe-field", "email",
                       "--now", "2026-01-01T02:00:00Z", "--leads", d_leads)
    expect(rc == 0 and out == "key,action,from,to,pool,reason\n"
           "e@x.com,reassigned,p,r,lang,not followed up by 2026-01-01T01:00:00Z; reassigned within pool lang\n",
           f"tick --leads with two leads of one key: {rc} {out!r} {err!r}")
    # tick without --leads on a state of email keys: the field is not asked for
    rc, out, err = run("tick", "--table", x_table, "--reps", x_reps, "--state", m_state, "--now", "2026-01-01T00:30:00Z")
    expect(rc == 0 and out == "key,action,from,to,pool,reason\n" and err == "due 0, reassigned 0, escalated 0, kept 0, raced 0\n",
           f"tick without --leads on a state of email keys: {rc} {out!r} {err!r}")

# simulate: the whole summary and records: members, strategies, first pools,
# capacities, inactive reps, deal values (1.0 M from exactly a million, k),
# fairness, queues, reasons by count, a row skipped (singular)
sim_table = table("rule,region,out:pool,out:queue\nbig,BIG,team,\nq,Q,,desk\nnone,NONE,,\n")
sim_reps = table("#! pools\nid,strategy,fallback\nteam,round_robin,spare\nspare,least_loaded,\n"
                 "#! reps\nid,pools,capacity,active\nann,team,5,yes\nbob,team,,no\ncy,\"team, spare\",,yes\ndan,spare,2,yes\n")
sim_leads = table("id,region,deal_value\nl1,BIG,990000\nl2,BIG,12345\nl3,BIG,10000\nl4,NONE,100\nl5,Q,5\nbad,Q\nl6,Q,2.5\n")
rc, out, err = run("simulate", "--no-state", "--table", sim_table, "--reps", sim_reps, sim_leads)
expect(rc == 1 and err == f"{sim_leads}:7: row has 2 cells, the header has 3 (row skipped)\n" and out ==
       f"simulated 6 leads of {sim_leads} (1 row skipped)\n"
       "outcomes: assigned 3 (50.0%), existing 0 (0.0%), queued 2 (33.3%), unassigned 1 (16.7%), unrouted 0 (0.0%)\n"
       "deal value assigned: 1.0 M\n"
       "\n"
       "pool                   strategy        members   leads      value  spread fairness\n"
       "spare                  least_loaded          2       0          0       0    1.000\n"
       "team                   round_robin           3       3      1.0 M       2    0.600\n"
       "\n"
       "rep                    first pool               leads      value  open/cap\n"
       "ann                    team                         2      1.0 M       2/5\n"
       "bob                    team                         0          0         0  (inactive)\n"
       "cy                     team                         1       12 k         1\n"
       "dan                    spare                        0          0       0/2\n"
       "\n"
       "rule                      hits      value\n"
       "big                          3      1.0 M\n"
       "q                            2          8\n"
       "none                         1        100\n"
       "\n"
       "queue                    leads\n"
       "desk                         2\n"
       "\n"
       "not assigned, by reason:\n"
       "      2  queued: rule q gives queue desk\n"
       "      1  unassigned: rule none names no owner, pool or queue\n", f"simulate summary: {rc} {out!r} {err!r}")
sim_records = ("kind,name,pool,leads,value,spread,fairness,open,capacity\n"
               "outcome,assigned,,3,1012345,,,,\noutcome,existing,,0,0,,,,\noutcome,queued,,2,7.5,,,,\n"
               "outcome,unassigned,,1,100,,,,\noutcome,unrouted,,0,0,,,,\n"
               "pool,spare,,0,0,0,1,,\npool,team,,3,1012345,2,0.6,,\n"
               "rep,ann,team,2,1000000,,,2,5\nrep,bob,team,0,0,,,0,\nrep,cy,team,1,12345,,,1,\nrep,dan,spare,0,0,,,0,2\n"
               "rule,big,,3,1012345,,,,\nrule,q,,2,7.5,,,,\nrule,none,,1,100,,,,\n"
               "reason,queued: rule q gives queue desk,,2,7.5,,,,\n"
               "reason,\"unassigned: rule none names no owner, pool or queue\",,1,100,,,,\n"
               "queue,desk,,2,7.5,,,,\n")
sim_html = os.path.join(workdir.name, "sim-report.html")
rc, out, err = run("simulate", "--no-state", "--table", sim_table, "--reps", sim_reps, sim_leads, "--format", "csv",
                   "--html", sim_html)
expect(rc == 1 and out == sim_records and os.path.getsize(sim_html) > 0,
       f"simulate records (and no report line among them): {rc} {out!r} {err!r}")
# a lead the roster cannot route is no hit of its rule
ghost_table = table("rule,region,out:pool\nghost,-,nowhere\n")
rc, out, err = run("simulate", "--no-state", "--table", ghost_table, "--reps", sim_reps, "--format", "csv", "-", stdin="id,region\nm1,BIG\n")
expect(rc == 1 and [r for r in csv.DictReader(io.StringIO(out)) if r["kind"] == "rule"] == [
    {"kind": "rule", "name": "ghost", "pool": "", "leads": "0", "value": "0", "spread": "", "fairness": "",
     "open": "", "capacity": ""}], f"an unrouted lead is no hit: {rc} {out!r} {err!r}")
# with --no-state, a file named like the default state that is no database may take the report
with tempfile.TemporaryDirectory() as tmp:
    open(os.path.join(tmp, "leadroute-state.db"), "w").close()
    p = subprocess.run([tool, "simulate", "--no-state", "--table", sim_table, "--reps", sim_reps, sim_leads,
                        "--html", "leadroute-state.db"], capture_output=True, text=True, cwd=tmp)
    expect(p.returncode == 1 and p.stdout.endswith("\nreport: leadroute-state.db\n")
           and os.path.getsize(os.path.join(tmp, "leadroute-state.db")) > 0,
           f"simulate --no-state --html leadroute-state.db: {p.returncode} {p.stdout[-200:]!r} {p.stderr!r}")
# reasons and queues by count, then by name
rc, out, err = run("simulate", "--no-state", "--table", routing, "--reps", reps, leads, "--format", "csv")
expect(rc == 1 and [(r["kind"], r["name"], r["leads"]) for r in csv.DictReader(io.StringIO(out))
                    if r["kind"] in ("reason", "queue")] == [
    ("reason", "queued: rule solutions gives queue solutions-desk", "2"),
    ("reason", "queued: no rep in emea -> inside-sales could take it; queued in sdr-overflow", "1"),
    ("reason", "queued: rule japan gives queue apac-partner", "1"),
    ("reason", "queued: rule no-region gives queue data-quality", "1"),
    ("reason", "unassigned: rule catch-all names no owner, pool or queue", "1"),
    ("reason", "unrouted: lead field 'employees': 'lots' is not a number", "1"),
    ("queue", "solutions-desk", "2"), ("queue", "apac-partner", "1"), ("queue", "data-quality", "1"),
    ("queue", "sdr-overflow", "1")], f"simulate orders reasons and queues: {rc} {out!r}")
# thousands grouped; every lead assigned
rc, out, err = run("simulate", "--no-state", "--table", routing, "--reps", reps, many)
expect(rc == 0 and out.startswith(f"simulated 1,500 leads of {many} (0 rows skipped)\n"),
       f"simulate of 1,500 leads: {rc} {out[:200]!r} {err!r}")
for path in (sim_table, sim_reps, sim_leads, ghost_table, route_table, route_reps):
    os.unlink(path)


# ---- more of check, eval and bench, and of the options they share -----------
# --help wins over what follows it on the line, as over what comes before
for command in ("check", "eval", "bench"):
    rc, out, err = run(command, "--help", "--bogus", "x.csv")
    expect(rc == 0 and out.startswith(f"usage: leadroute {command} TABLE") and err == "",
           f"{command} --help --bogus: {rc} {out[:80]!r} {err!r}")
# --no-progress: no bar, not even a forced one
rc, out, err = run("route", "--no-state", "--no-progress", "--table", routing, "--reps", reps, "-",
                   stdin="id,region,country,language,score,postal,industry,employees,products\n"
                   "w1,EMEA,FR,fr,40,75001,retail,40,crm\n")
expect(rc == 0 and out.splitlines() == ["id,status,rep,pool,rule,reason",
                                        'w1,assigned,camille,emea,france,"pool emea, round robin among 1 eligible of 4 members"']
       and err == "", f"route --no-progress draws no bar: {rc} {out!r} {err!r}")
# an empty --state=, like '-', names no state
rc, out, err = run("route", "--table", routing, "--reps", reps, leads, "--state=")
expect(rc == 2 and out == "" and err == "leadroute route: --state needs a file name or a PostgreSQL connection string "
       "(not '-': it is written) (try 'leadroute route --help')\n", f"route --state=: {rc} {out!r} {err!r}")
# option values at and past their bounds: a value in bounds gets as far as the
# missing table; one out of bounds is a usage error
for command, args, message in (
        ("route", ("--batch", "100000"), None),
        ("route", ("--batch", "100001"), "--batch: '100001' is not a number of leads (1 to 100000)"),
        ("route", ("--batch", "5x"), "--batch: '5x' is not a number of leads (1 to 100000)"),
        ("simulate", ("--html=",), "--html needs a file name"),
        ("simulate", ("--value-field=",), "--value-field needs a field name")):
    rc, out, err = run(command, "--table", "no-such-table.csv", "--reps", reps, leads, "--no-state", *args)
    expect(rc == 2 and out == "" and err == (f"leadroute {command}: {message} (try 'leadroute {command} --help')\n"
                                             if message else "leadroute: no-such-table.csv: cannot open: No such file "
                                             "or directory\n"), f"{command} {' '.join(args)}: {rc} {out!r} {err!r}")
# --now: the forms ISO 8601 allows and the bounds of each field; a time in
# bounds gets as far as the missing table
for now, ok in (("999999999999999", True), ("9999999999999999", False), ("2026-11-24t09:30Z", True),
                ("2026-11-24T09:30:00.123456789Z", True), ("2026-11-24T09:30:00.1234567891Z", False),
                ("2026-11-24T09:30ZZ", False), ("2000-02-29T00:00:00Z", True), ("2100-02-29T00:00:00Z", False),
                ("1970-01-01T00:00:00Z", True), ("1969-12-31T23:59:59Z", False), ("2026-11-24T23:59:59z", True),
                ("2026-11-24T24:00:00Z", False), ("2026-11-24T23:60:00Z", False), ("2026-11-24T23:59:60Z", False)):
    rc, out, err = run("route", "--table", "no-such-table.csv", "--reps", reps, leads, "--no-state", "--now", now)
    expect(rc == 2 and out == "" and err == ("leadroute: no-such-table.csv: cannot open: No such file or directory\n"
                                             if ok else f"leadroute route: --now: '{now}' is not a time (expected "
                                             "ISO 8601 UTC such as 2026-11-24T09:30:00Z, or milliseconds since the "
                                             "epoch) (try 'leadroute route --help')\n"), f"route --now {now}: {rc} {err!r}")
# and the time it names, as explain shows it: midnight, a fraction, milliseconds
with tempfile.TemporaryDirectory() as tmp:
    w1 = os.path.join(tmp, "w1.csv")
    with open(w1, "w", encoding="utf-8") as f:
        f.write("id,region,country,language,score,postal,industry,employees,products\n"
                "w1,EMEA,FR,fr,40,75001,retail,40,crm\n")
    for k, (now, shown) in enumerate((("2026-11-24t00:00Z", "2026-11-24T00:00:00Z"),
                                      ("2000-02-29T23:59:59.5z", "2000-02-29T23:59:59.500Z"),
                                      ("1795478400001", "2026-11-24T00:00:00.001Z"))):
        state = os.path.join(tmp, f"now{k}.db")
        rc, out, err = run("route", "--table", routing, "--reps", reps, w1, "--state", state, "--now", now)
        rc2, out2, err2 = run("explain", "--state", state, "w1")
        expect(rc == 0 and rc2 == 0 and out2.splitlines()[:2] == ["w1 (key w1)", f"  {shown}  assigned"],
               f"route --now {now}, then explain: {rc} {err!r} {rc2} {out2[:120]!r} {err2!r}")
# a day is the longest bench runs, and allowed: what stops this one is the missing table
rc, out, err = run("bench", "no-such-table.csv", leads, "--seconds", "86400")
expect(rc == 2 and out == "" and err == "leadroute: no-such-table.csv: cannot open: No such file or directory\n",
       f"bench --seconds 86400 is allowed: {rc} {out!r} {err!r}")
# notes on pools the roster lacks: ten at most, then one line counting the others
for unknown in (10, 12):
    many_pools = table("rule,region,out:pool\n" + "".join(f"r{k},R{k},p{k:02}\n" for k in range(unknown))
                       + "all,-,team\n")
    one_pool = table("#! pools\nid,strategy\nteam,round_robin\n#! reps\nid,pools\na,team\n")
    rc, out, err = run("route", "--no-state", "--table", many_pools, "--reps", one_pool, "-", stdin="id,region\nw1,EU\n")
    expect(rc == 0 and err.splitlines() == [f"{many_pools}: rule r{k} names pool 'p{k:02}', which {one_pool} does not "
                                            "define: leads it matches are unrouted" for k in range(10)]
           + (["... and 2 more such notes about pools and owners"] if unknown > 10 else []),
           f"route notes {unknown} unknown pools: {rc} {err!r}")
    os.unlink(many_pools)
    os.unlink(one_pool)
# the summary names every hit policy and aggregation
for header, policy in (("#! hit_policy: priority\n#! priority: pool = x, y\n", "priority"),
                       ("#! hit_policy: any\n", "any"),
                       ("#! hit_policy: output order\n#! priority: pool = x, y\n", "output order"),
                       ("#! hit_policy: collect\n", "collect"),
                       ("#! hit_policy: collect\n#! aggregation: count\n", "collect (count)")):
    path = table(header + "rule,region,out:pool\na,-,x\n")
    rc, got, err = check_summary(path)
    expect(rc == 0 and got == (f"{path}: 1 rule, 1 input, 1 output, hit policy {policy}", "0 lint findings"),
           f"check summary of hit policy {policy}: {rc} {got!r} {err!r}")
    os.unlink(path)
for aggregation in ("min", "max"):
    path = table(f"#! hit_policy: collect\n#! aggregation: {aggregation}\nrule,region,out:n:number\na,-,1\n")
    rc, got, err = check_summary(path)
    expect(rc == 0 and got == (f"{path}: 1 rule, 1 input, 1 output, hit policy collect ({aggregation})",
                               "0 lint findings"), f"check summary of collect ({aggregation}): {rc} {got!r} {err!r}")
    os.unlink(path)
# eval: a number from 10^15 on is written as %g writes it, a tab at the end of a field is quoted
ends = table('rule,region,out:pool,out:n:number\na,EMEA,"""y\t""",1e15\nb,-,"""\tz""",-999999999999999\n')
p = subprocess.run([tool, "eval", ends, "-"], input=b"id,region\nl1,EMEA\nl2,NA\n", capture_output=True,
                   cwd=workdir.name)
expect(p.returncode == 0 and p.stdout == b'id,rule,pool,n\nl1,a,"y\t",1e+15\nl2,b,"\tz",-999999999999999\n'
       and p.stderr == b"", f"eval CSV of a field ending in a tab, and of 1e15: {p.returncode} {p.stdout!r} {p.stderr!r}")
p = subprocess.run([tool, "eval", ends, "-", "--format", "jsonl"], input=b"id,region\nl1,EMEA\nl2,NA\n",
                   capture_output=True, cwd=workdir.name)
expect(p.returncode == 0 and p.stdout == b'{"id":"l1","rule":"a","pool":"y\\t","n":1e+15}\n'
       b'{"id":"l2","rule":"b","pool":"\\tz","n":-999999999999999}\n' and p.stderr == b"",
       f"eval JSON lines of 1e15: {p.returncode} {p.stdout!r} {p.stderr!r}")
os.unlink(ends)


for f in failures:
    print("FAIL:", f)
print("cli checks failed" if failures else "cli checks passed")
sys.exit(1 if failures else 0)
