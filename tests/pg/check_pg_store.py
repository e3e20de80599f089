#!/usr/bin/env python3
"""Several processes share one PostgreSQL store: the proof.

    check_pg_store.py --demo PG_STORE_DEMO [TARGET]

TARGET is a libpq conninfo, or a directory where `pg_cluster.sh start` left
its `conninfo` file. Without it: $LEADROUTE_PG, else a throwaway cluster
started with pg_cluster.sh (next to this script) in a temporary directory,
stopped and removed at the end. Exit 77 (skip) when there is no PostgreSQL.

Each scenario works in a schema of its own (lr_check_*), dropped at the end:

  demo   pg_store_demo's self-check.
  route  4 processes start together (racing to create the schema) and
         route one stream of 4,000 leads, each lead offered to 2 or 3 of
         them in different orders. Every lead has exactly one owner and one
         assignment record; the pool's commits, in order, go round the five
         reps without a gap, so shares are equal within 1 per rep per round.
  tick   hot leads routed, then 2 processes tick at once past the deadline:
         every overdue lead is moved exactly once (one hop, one earlier
         holder, two assignment records, one "reassigned" event), and the
         two ticks' moves add up.
  kill   2 processes route the same leads; one is SIGKILLed mid-run and
         started again: nothing lost, nothing doubled, the rotation intact.
"""
import argparse
import glob
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

T0 = 1772442000000  # 2026-03-02T09:00:00Z, the routing clock
MINUTE_MS = 60 * 1000
REPS = ["r1", "r2", "r3", "r4", "r5"]  # the demo's route roster, in id order
HERE = os.path.dirname(os.path.abspath(__file__))

failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


def find_psql():
    found = shutil.which("psql")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))
    return candidates[-1] if candidates else None


class Database:
    def __init__(self, conninfo, psql):
        self.conninfo = conninfo
        self.psql = psql

    def query(self, sql):
        """Rows of a query, as lists of strings (fields split on a unit separator)."""
        out = subprocess.run(
            [self.psql, "-X", "-A", "-t", "-q", "-F", "\x1f", "-v", "ON_ERROR_STOP=1", "-d", self.conninfo,
             "-c", "SET client_min_messages = warning", "-c", sql],
            check=True, capture_output=True, text=True).stdout
        return [line.split("\x1f") for line in out.splitlines() if line]

    def value(self, sql):
        rows = self.query(sql)
        return rows[0][0] if rows else None


def lead_file(directory, name, ids, priority_of):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        for i in ids:
            f.write("%s,%s\n" % (i, priority_of(i)))
    return path


def near_order(ids, rng, spread):
    """The stream in its order, each lead moved by up to `spread` places:
    processes reach the same lead at about the same time, in different orders."""
    keyed = [(n + rng.uniform(0, spread), i) for n, i in enumerate(ids)]
    return [i for _, i in sorted(keyed)]


def start_route(demo, conninfo, schema, path, now_ms):
    return subprocess.Popen([demo, "route", conninfo, schema, path, str(now_ms)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc, what):
    out, err = proc.communicate(timeout=600)
    if proc.returncode != 0:
        sys.stderr.write(err)
    check(proc.returncode == 0, "%s exits 0 (got %s)" % (what, proc.returncode))
    return out


def routed_counts(out):
    """(assigned, existing) from "routed N: assigned A, existing E, other O"."""
    for line in out.splitlines():
        if line.startswith("routed "):
            parts = line.replace(",", "").split()
            return int(parts[3]), int(parts[5])
    return 0, 0


def check_claims_and_log(db, schema, ids, label):
    """Every lead: exactly one claim, exactly one assignment record, as the claim says."""
    claims = db.query("SELECT key, rep FROM %s.leadroute_claims WHERE NOT is_account" % schema)
    keys = [k for k, _ in claims]
    check(sorted(keys) == sorted("lead:" + i for i in ids),
          "%s: every lead has exactly one owner (%d claims for %d leads)" % (label, len(keys), len(ids)))
    doubled = db.value("SELECT count(*) FROM (SELECT key FROM %s.leadroute_assignments GROUP BY key "
                       "HAVING count(*) <> 1) d" % schema)
    total = db.value("SELECT count(*) FROM %s.leadroute_assignments" % schema)
    check(doubled == "0" and total == str(len(ids)),
          "%s: one assignment record per lead (%s records, %s keys not once)" % (label, total, doubled))
    mismatched = db.value("SELECT count(*) FROM %s.leadroute_assignments a JOIN %s.leadroute_claims c "
                          "ON c.key = a.key WHERE c.rep <> a.rep" % (schema, schema))
    check(mismatched == "0", "%s: each record names the lead's owner (%s do not)" % (label, mismatched))


def check_rotation(db, schema, label):
    """The pool's assignments in commit order go round the reps with no gap,
    and shares differ by at most 1."""
    seq = [r for (r,) in db.query("SELECT rep FROM %s.leadroute_assignments ORDER BY id" % schema)]
    if not check(len(seq) > 0 and seq[0] in REPS, "%s: assignments were logged" % label):
        return
    start = REPS.index(seq[0])
    breaks = [n for n, rep in enumerate(seq) if rep != REPS[(start + n) % len(REPS)]]
    check(not breaks, "%s: %d commits go round the %d reps without a gap%s" %
          (label, len(seq), len(REPS), "" if not breaks else " (first break at commit %d)" % breaks[0]))
    shares = [seq.count(r) for r in REPS]
    check(max(shares) - min(shares) <= 1, "%s: shares %s within 1" % (label, shares))
    version = db.value("SELECT version FROM %s.leadroute_pools WHERE id = 'sales'" % schema)
    check(version == str(len(seq)), "%s: pool state version %s = %d commits" % (label, version, len(seq)))


def scenario_route(demo, db, work, rng, schema):
    ids = ["R-%05d" % n for n in range(4000)]
    offers = {p: [] for p in range(4)}
    for i in ids:
        for p in rng.sample(range(4), rng.choice([2, 3])):
            offers[p].append(i)
    procs = []
    for p in range(4):
        path = lead_file(work, "route-%d.csv" % p, near_order(offers[p], rng, 40),
                         lambda i: "hot" if i.endswith("7") else "cold")
        procs.append(start_route(demo, db.conninfo, schema, path, T0))
    assigned = existing = 0
    for p, proc in enumerate(procs):
        a, e = routed_counts(finish(proc, "route: process %d" % p))
        assigned += a
        existing += e
    offered = sum(len(v) for v in offers.values())
    check(assigned == len(ids) and assigned + existing == offered,
          "route: the processes report %d assigned + %d existing for %d offers of %d leads" %
          (assigned, existing, offered, len(ids)))
    check_claims_and_log(db, schema, ids, "route")
    check_rotation(db, schema, "route")


def scenario_tick(demo, db, work, rng, schema):
    hot = ["H-%04d" % n for n in range(600)]
    cold = ["K-%04d" % n for n in range(200)]
    stream = hot + cold
    rng.shuffle(stream)
    path = lead_file(work, "tick.csv", stream, lambda i: "hot" if i.startswith("H") else "cold")
    finish(start_route(demo, db.conninfo, schema, path, T0), "tick: routing")
    now = T0 + 31 * MINUTE_MS
    ticks = [subprocess.Popen([demo, "tick", db.conninfo, schema, str(now)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    moved = 0
    for n, proc in enumerate(ticks):
        out = finish(proc, "tick: ticker %d" % n)
        print("      " + out.strip())
        for line in out.splitlines():
            if line.startswith("tick:"):
                fields = dict(f.strip().split(" ") for f in line[len("tick:"):].split(","))
                moved += int(fields["reassigned"]) + int(fields["escalated"])
    check(moved == len(hot), "tick: the two ticks moved %d leads, %d were overdue" % (moved, len(hot)))
    rows = db.query("SELECT key, rep, hops, coalesce(array_length(history, 1), 0), coalesce(history[1], ''), "
                    "deadline_ms FROM %s.leadroute_claims WHERE NOT is_account" % schema)
    bad_hot = [r for r in rows if r[0].startswith("lead:H") and
               (r[2] != "1" or r[3] != "1" or r[4] == r[1] or r[5] != str(now + 30 * MINUTE_MS))]
    bad_cold = [r for r in rows if r[0].startswith("lead:K") and (r[2] != "0" or r[3] != "0")]
    check(len(rows) == len(stream) and not bad_hot and not bad_cold,
          "tick: every overdue lead moved exactly once to another rep, the others not at all "
          "(%d wrong, e.g. %s)" % (len(bad_hot) + len(bad_cold), (bad_hot + bad_cold)[:1]))
    log = dict(db.query("SELECT key, count(*) FROM %s.leadroute_assignments GROUP BY key" % schema))
    check(all(log.get("lead:" + i) == "2" for i in hot) and all(log.get("lead:" + i) == "1" for i in cold),
          "tick: two assignment records per moved lead, one per other lead")
    events = dict(db.query("SELECT key, count(*) FROM %s.leadroute_events WHERE kind = 'reassigned' "
                           "GROUP BY key" % schema))
    check(len(events) == len(hot) and all(events.get("lead:" + i) == "1" for i in hot),
          "tick: one notified move per overdue lead (%d events)" % sum(int(v) for v in events.values()))


def scenario_kill(demo, db, work, rng, schema):
    ids = ["X-%05d" % n for n in range(2000)]
    paths = [lead_file(work, "kill-%d.csv" % p, near_order(ids, rng, 40), lambda i: "cold") for p in range(2)]
    victim = start_route(demo, db.conninfo, schema, paths[0], T0)
    other = start_route(demo, db.conninfo, schema, paths[1], T0)
    deadline = time.monotonic() + 120
    claimed = 0
    while time.monotonic() < deadline and victim.poll() is None:
        try:
            claimed = int(db.value("SELECT count(*) FROM %s.leadroute_claims" % schema) or 0)
        except subprocess.CalledProcessError:
            claimed = 0  # the schema is not there yet
        if claimed >= 400:
            break
        time.sleep(0.05)
    killed = victim.poll() is None
    if killed:
        victim.send_signal(signal.SIGKILL)
    victim.communicate()
    check(killed, "kill: one process SIGKILLed mid-run (%d leads claimed by then)" % claimed)
    again = start_route(demo, db.conninfo, schema, paths[0], T0)
    finish(other, "kill: the other process")
    finish(again, "kill: the restarted process")
    check_claims_and_log(db, schema, ids, "kill")
    check_rotation(db, schema, "kill")


def scenario_demo(demo, db, work, rng, schema):
    """The demo's own checks (it makes and drops a schema of its own)."""
    proc = subprocess.run([demo, db.conninfo], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
    check(proc.returncode == 0, "demo: pg_store_demo's self-check passes (exit %d)" % proc.returncode)


def start_cluster(work):
    directory = os.path.join(work, "cluster")
    os.mkdir(directory)
    os.chmod(work, 0o755)  # the server's own user must reach its directory
    proc = subprocess.run(["sh", os.path.join(HERE, "pg_cluster.sh"), "start", directory], capture_output=True,
                          text=True)
    if proc.returncode == 77:
        print(proc.stderr.strip())
        sys.exit(77)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        sys.exit("check_pg_store: cannot start a PostgreSQL cluster")
    return directory, proc.stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--demo", required=True, help="the pg_store_demo program")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--only", choices=["demo", "route", "tick", "kill"], help="run one scenario")
    parser.add_argument("target", nargs="?", help="conninfo, or a directory made by pg_cluster.sh start")
    args = parser.parse_args()

    psql = find_psql()
    if not psql:
        print("check_pg_store: psql is not installed; skipping")
        return 77
    target = args.target or os.environ.get("LEADROUTE_PG")
    demo = os.path.abspath(args.demo)
    rng = random.Random(args.seed)
    suffix = "%d" % os.getpid()
    with tempfile.TemporaryDirectory(prefix="check_pg_store.") as work:
        cluster = None
        if not target:
            cluster, target = start_cluster(work)
        elif os.path.isdir(target):
            with open(os.path.join(target, "conninfo")) as f:
                target = f.read().strip()
        db = Database(target, psql)
        schemas = ["lr_check_%s_%s" % (name, suffix) for name in ("route", "tick", "kill")]
        try:
            for s in schemas:
                db.query("DROP SCHEMA IF EXISTS %s CASCADE" % s)
            for name, scenario, schema in zip(("demo", "route", "tick", "kill"),
                                              (scenario_demo, scenario_route, scenario_tick, scenario_kill),
                                              [None] + schemas):
                if args.only in (None, name):
                    scenario(demo, db, work, rng, schema)
        finally:
            for s in schemas:
                try:
                    db.query("DROP SCHEMA IF EXISTS %s CASCADE" % s)
                except subprocess.CalledProcessError:
                    pass
            if cluster:
                subprocess.run(["sh", os.path.join(HERE, "pg_cluster.sh"), "stop", cluster], check=False)
    print("check_pg_store: %s" % ("all checks passed" if not failures else "%d FAILED" % len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
