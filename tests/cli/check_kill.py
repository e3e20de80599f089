#!/usr/bin/env python3
"""Killing `leadroute route` with SIGKILL in the middle of a large file, then
running it again, loses no lead and assigns none twice.

The tool routes in batches, one SQLite transaction each, and prints a batch
only once it is committed. So after any number of kills and a final complete
run the database must hold exactly one claim and one assignment record per
lead, every lead printed as assigned by a killed run must come back as
existing with the same rep, and the round-robin rotation must have carried on
across the kills (per-rep counts within one of each other).

Arguments: the tool, a scratch directory."""
import csv
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time

tool, scratch = sys.argv[1], sys.argv[2]
os.makedirs(scratch, exist_ok=True)
LEADS = 60000
REPS = ["ana", "ben", "cho", "dev", "eli", "fay", "gus"]
failures = []


def expect(cond, what):
    if not cond:
        failures.append(what)


table = os.path.join(scratch, "table.csv")
roster = os.path.join(scratch, "roster.csv")
leads = os.path.join(scratch, "leads.csv")
state = os.path.join(scratch, "state.db")
for path in (state, state + "-wal", state + "-shm"):
    if os.path.exists(path):
        os.unlink(path)
with open(table, "w", encoding="utf-8") as f:
    f.write("rule,region,out:pool,out:sla_minutes:number\nall,-,team,60\n")
with open(roster, "w", encoding="utf-8") as f:
    f.write("#! pools\nid,strategy\nteam,round_robin\n#! reps\nid,pools\n")
    f.writelines(f"{rep},team\n" for rep in REPS)
with open(leads, "w", encoding="utf-8") as f:
    f.write("id,region,email\n")
    f.writelines(f"K-{i:06d},EMEA,person{i}@example.com\n" for i in range(LEADS))

args = [tool, "route", "--table", table, "--reps", roster, leads, "--state", state,
        "--now", "2026-11-24T09:30:00Z", "--batch", "250", "--no-progress"]


def complete_rows(path):
    """Rows of a run's output, without a line cut by the kill."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not text.endswith("\n"):
        text = text[:text.rfind("\n") + 1]
    return list(csv.DictReader(io.StringIO(text)))


def killed_run(n, at_rows):
    """Start a run, SIGKILL it once it printed `at_rows` rows; its rows."""
    out_path = os.path.join(scratch, f"run{n}.csv")
    with open(out_path, "w", encoding="utf-8") as out:
        p = subprocess.Popen(args, stdout=out, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and p.poll() is None:
            with open(out_path, encoding="utf-8") as f:
                if sum(1 for _ in f) > at_rows:
                    break
            time.sleep(0.01)
        still_running = p.poll() is None
        p.send_signal(signal.SIGKILL)
        p.wait()
    expect(still_running, f"run {n} was still routing when killed (else the test proves nothing)")
    rows = complete_rows(out_path)
    expect(len(rows) < LEADS, f"run {n} was killed before the end: {len(rows)} rows")
    print(f"run {n}: killed after {len(rows)} rows")
    return rows


printed = {}  # lead -> rep, from every run that was killed
for n, at in enumerate((8000, 25000, 40000), start=1):
    for row in killed_run(n, at):
        if row["status"] == "assigned":
            expect(row["id"] not in printed, f"{row['id']} printed as assigned twice")
            printed[row["id"]] = row["rep"]
        else:
            expect(row["status"] == "existing" and printed.get(row["id"]) in (None, row["rep"]),
                   f"run {n}: {row}")

# the last run goes to the end
p = subprocess.run(args, capture_output=True, text=True)
expect(p.returncode == 0, f"final run exits 0: {p.returncode} {p.stderr!r}")
final = list(csv.DictReader(io.StringIO(p.stdout)))
expect(len(final) == LEADS, f"final run prints every lead: {len(final)}")
new = {r["id"]: r["rep"] for r in final if r["status"] == "assigned"}
existing = {r["id"]: r["rep"] for r in final if r["status"] == "existing"}
expect(len(new) + len(existing) == LEADS, "every lead is assigned or existing in the final run")
for lead, rep in printed.items():
    expect(existing.get(lead) == rep, f"{lead} printed for {rep} before the kill, final run says {existing.get(lead)}")
expect(not set(new) & set(printed), "no lead printed as assigned by a killed run is assigned again")
print(f"final run: {len(new)} assigned, {len(existing)} existing")

db = sqlite3.connect(state)
claims = dict(db.execute("SELECT key, rep FROM claims WHERE is_account = 0"))
expect(len(claims) == LEADS, f"one claim per lead: {len(claims)}")
log = db.execute("SELECT count(*) FROM assignments").fetchone()[0]
expect(log == LEADS, f"one assignment record per lead (none assigned twice): {log}")
decided = db.execute("SELECT count(*), count(DISTINCT lead_id) FROM events WHERE kind = 'assigned'").fetchone()
expect(decided == (LEADS, LEADS), f"one recorded 'assigned' decision per lead: {decided}")
for lead, rep in {**existing, **new}.items():
    if claims.get("lead:" + lead) != rep:
        expect(False, f"{lead}: printed {rep}, the database says {claims.get('lead:' + lead)}")
        break
per_rep = {}
for rep in claims.values():
    per_rep[rep] = per_rep.get(rep, 0) + 1
expect(sorted(per_rep) == REPS and max(per_rep.values()) - min(per_rep.values()) <= 1,
       f"the rotation carried on across the kills: {per_rep}")
db.close()

for f in failures[:20]:
    print("FAIL:", f)
print("kill checks failed" if failures else "kill checks passed")
sys.exit(1 if failures else 0)
