#!/usr/bin/env python3
"""Several processes share one PostgreSQL store: the proof.

    check_pg_store.py --demo PG_STORE_DEMO --worker PG_STORE_WORKER [--leads N] [--batch N] [TARGET]

TARGET is a libpq conninfo, or a directory where `pg_cluster.sh start` left
its `conninfo` file. Without it: $LEADROUTE_PG, else a throwaway cluster
started with pg_cluster.sh (next to this script) in a temporary directory,
stopped and removed at the end. Exit 77 (skip) when there is no PostgreSQL.

  demo   pg_store_demo's self-check (in a schema of its own).
  proof  in schema lr_check_proof_<pid>, dropped at the end:
         route  8 worker processes start together (racing to create the
                schema) and route one stream of N leads (default 100,000),
                each lead offered to 2 or 3 of them, each process in its own
                order, in batches of 500. Hot leads have a deadline; leads of
                segment "partner" go to a weighted pool (weights 1 to 4), the
                others to a round robin of five. One process keeps each
                batch in stream order, the others group theirs by pool:
                batches hold the store's lock from start to end, so whatever
                order they take the pools in, none deadlocks and none is
                routed twice (no batch re-run).
         kill   one process is SIGKILLed mid-run; when the others are done
                it is started again on the same leads.
         check  every lead has exactly one owner (one claim) and one
                assignment record naming it, in the pool its segment says;
                the round robin's commits, in order, go round the reps
                without a gap (shares within 1); the weighted pool's shares
                are within 0.5% of the weights' proportions; each pool's
                state version counts its commits.
         tick   2 processes tick the deadlines at once: every overdue lead
                is moved exactly once (one hop, one earlier holder, a new
                rep, two assignment records, one "reassigned" event), the
                others not at all, and the two ticks' moves add up.
The figures (leads, processes, wall time, shares, deviation) come last.
"""
import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time

T0 = 1772442000000  # 2026-03-02T09:00:00Z, the routing clock
MINUTE_MS = 60 * 1000
PROCESSES = 8
SPREAD = 2000  # how far (in leads) each process's order strays from the stream's
HOT_SHARE = 0.05
PARTNER_SHARE = 0.4
# the worker's roster, reps in id order
ROUND_ROBIN = ("sales", ["r1", "r2", "r3", "r4", "r5"])
WEIGHTED = ("partners", {"w1": 1, "w2": 2, "w3": 3, "w4": 4})
WEIGHTED_TOLERANCE_PCT = 0.5
HERE = os.path.dirname(os.path.abspath(__file__))

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
from pgtest import check, failures, find_psql  # noqa: E402


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


def near_order(ids, rng, spread):
    """The stream in its order, each lead moved by up to `spread` places:
    processes reach the same lead at about the same time, in different orders."""
    keyed = [(n + rng.uniform(0, spread), i) for n, i in enumerate(ids)]
    return [i for _, i in sorted(keyed)]


def start_route(worker, conninfo, schema, path, batch, order):
    return subprocess.Popen([worker, "route", conninfo, schema, path, str(T0), str(batch), order],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc, what):
    out, err = proc.communicate(timeout=900)
    if proc.returncode != 0:
        sys.stderr.write(err)
    check(proc.returncode == 0, "%s exits 0 (got %s)" % (what, proc.returncode))
    return out


def routed_figures(out):
    """The worker's "routed N: assigned A, existing E, other O, batches B, re-run R, round trips T"."""
    for line in out.splitlines():
        if line.startswith("routed "):
            return {name: int(n) for name, n in
                    re.findall(r"(assigned|existing|other|batches|re-run|round trips) (\d+)", line)}
    return {}


def pool_sequence(db, schema, pool):
    """The reps of a pool's assignments in commit order. Every writer holds
    the store's lock while it writes (a batch from its start to its end), so
    ids (taken at insert) follow the commit order."""
    return [r for (r,) in db.query("SELECT rep FROM %s.leadroute_assignments WHERE pool_id = '%s' ORDER BY id"
                                   % (schema, pool))]


def check_owners(db, schema, leads):
    """Every lead: exactly one claim, in the pool of its segment, and one assignment record naming its owner."""
    claims = db.query("SELECT key, rep, pool_id FROM %s.leadroute_claims WHERE NOT is_account" % schema)
    keys = sorted(k for k, _, _ in claims)
    check(keys == sorted("lead:" + i for i in leads),
          "route: every lead has exactly one owner (%d claims for %d leads)" % (len(keys), len(leads)))
    want_pool = {"lead:" + i: (WEIGHTED[0] if seg == "partner" else ROUND_ROBIN[0]) for i, (_, seg) in leads.items()}
    wrong_pool = [k for k, _, pool in claims if want_pool.get(k) != pool]
    check(not wrong_pool, "route: each lead is in the pool its segment names (%d are not, e.g. %s)" %
          (len(wrong_pool), wrong_pool[:1]))
    doubled = db.value("SELECT count(*) FROM (SELECT key FROM %s.leadroute_assignments GROUP BY key "
                       "HAVING count(*) <> 1) d" % schema)
    total = db.value("SELECT count(*) FROM %s.leadroute_assignments" % schema)
    check(doubled == "0" and total == str(len(leads)),
          "route: one assignment record per lead (%s records, %s keys not once)" % (total, doubled))
    mismatched = db.value("SELECT count(*) FROM %s.leadroute_assignments a JOIN %s.leadroute_claims c "
                          "ON c.key = a.key WHERE c.rep <> a.rep" % (schema, schema))
    check(mismatched == "0", "route: each record names the lead's owner (%s do not)" % mismatched)


def check_round_robin(db, schema, figures):
    pool, reps = ROUND_ROBIN
    seq = pool_sequence(db, schema, pool)
    if not check(len(seq) > 0 and seq[0] in reps, "route: pool %s's assignments were logged" % pool):
        return
    start = reps.index(seq[0])
    breaks = [n for n, rep in enumerate(seq) if rep != reps[(start + n) % len(reps)]]
    check(not breaks, "route: %s: %d commits go round the %d reps without a gap%s" %
          (pool, len(seq), len(reps), "" if not breaks else " (first break at commit %d)" % breaks[0]))
    shares = [seq.count(r) for r in reps]
    spread = max(shares) - min(shares)
    check(spread <= 1, "route: %s: shares %s, max - min = %d <= 1" % (pool, shares, spread))
    version = db.value("SELECT version FROM %s.leadroute_pools WHERE id = '%s'" % (schema, pool))
    check(version == str(len(seq)), "route: %s: state version %s = %d commits" % (pool, version, len(seq)))
    figures["round robin"] = "%d leads, shares %s, spread %d" % (len(seq), shares, spread)


def check_weighted(db, schema, figures):
    pool, weights = WEIGHTED
    seq = pool_sequence(db, schema, pool)
    if not check(len(seq) > 0, "route: pool %s's assignments were logged" % pool):
        return
    total_weight = sum(weights.values())
    shares = {r: seq.count(r) for r in weights}
    deviations = {r: abs(shares[r] / len(seq) - w / total_weight) / (w / total_weight) * 100
                  for r, w in weights.items()}
    worst = max(deviations.values())
    # 0.5% of a share; with few leads (--leads) that is less than the strategy's rounding, 2 leads
    within = all(abs(shares[r] - len(seq) * w / total_weight) <=
                 max(2, len(seq) * w / total_weight * WEIGHTED_TOLERANCE_PCT / 100) for r, w in weights.items())
    check(sum(shares.values()) == len(seq) and within,
          "route: %s: shares %s for weights %s, largest deviation %.4f%% (limit %.1f%%, or 2 leads)" %
          (pool, [shares[r] for r in weights], list(weights.values()), worst, WEIGHTED_TOLERANCE_PCT))
    version = db.value("SELECT version FROM %s.leadroute_pools WHERE id = '%s'" % (schema, pool))
    check(version == str(len(seq)), "route: %s: state version %s = %d commits" % (pool, version, len(seq)))
    figures["weighted"] = "%d leads, shares %s for weights %s, largest deviation %.4f%%" % (
        len(seq), [shares[r] for r in weights], list(weights.values()), worst)


def route_all(args, db, work, rng, schema, leads, figures):
    """The processes route; one is killed mid-run and started again when the others are done."""
    ids = list(leads)
    offers = {p: [] for p in range(PROCESSES)}
    for i in ids:
        for p in rng.sample(range(PROCESSES), rng.choice([2, 3])):
            offers[p].append(i)
    paths = []
    for p in range(PROCESSES):
        path = os.path.join(work, "route-%d.csv" % p)
        with open(path, "w") as f:
            for i in near_order(offers[p], rng, SPREAD):
                f.write("%s,%s,%s\n" % (i, leads[i][0], leads[i][1]))
        paths.append(path)
    victim = rng.randrange(PROCESSES)
    # One process routes its batches in stream order, the others grouped by
    # segment (so by pool): its batches take the two pools in either order.
    # Batches serialise on the store's lock, so neither order deadlocks.
    orders = ["stream" if p == (victim + 1) % PROCESSES else "grouped" for p in range(PROCESSES)]
    began = time.monotonic()
    procs = [start_route(args.worker, db.conninfo, schema, path, args.batch, order) for path, order in zip(paths, orders)]
    # kill the victim once about a third of the leads are claimed: well into its run
    claimed = 0
    while procs[victim].poll() is None and time.monotonic() - began < 600:
        try:
            claimed = int(db.value("SELECT count(*) FROM %s.leadroute_claims" % schema) or 0)
        except subprocess.CalledProcessError:
            claimed = 0  # the schema is not there yet
        if claimed >= len(ids) // 3:
            break
        time.sleep(0.2)
    killed = procs[victim].poll() is None
    if killed:
        procs[victim].send_signal(signal.SIGKILL)
    procs[victim].communicate()
    check(killed, "kill: process %d SIGKILLed mid-run (%d of %d leads claimed by then)" % (victim, claimed, len(ids)))
    results = []
    for p, proc in enumerate(procs):
        if p != victim:
            results.append(routed_figures(finish(proc, "route: process %d (%s)" % (p, orders[p]))))
    again = start_route(args.worker, db.conninfo, schema, paths[victim], args.batch, orders[victim])
    results.append(routed_figures(finish(again, "kill: process %d started again" % victim)))
    wall = time.monotonic() - began
    offered = sum(len(v) for v in offers.values())
    assigned = sum(r.get("assigned", 0) for r in results)
    check(assigned <= len(ids) and all(r.get("other", 1) == 0 for r in results),
          "route: the finished processes assigned %d of %d leads, the rest before the kill; none unrouted" %
          (assigned, len(ids)))
    reruns = sum(r.get("re-run", 0) for r in results)
    check(reruns == 0, "route: no batch failed and was routed again (%d were)" % reruns)
    figures["routing"] = ("%d leads, %d processes, %d offers, batches of %d, wall time %.1f s (%.0f offers/s), "
                          "batches re-run %d, round trips %d" %
                          (len(ids), PROCESSES, offered, args.batch, wall, offered / wall,
                           sum(r.get("re-run", 0) for r in results), sum(r.get("round trips", 0) for r in results)))


def tick_all(args, db, schema, leads, figures):
    """Two processes tick at once past the deadline of every hot lead."""
    hot = [i for i, (priority, _) in leads.items() if priority == "hot"]
    now = T0 + 31 * MINUTE_MS
    began = time.monotonic()
    ticks = [subprocess.Popen([args.worker, "tick", db.conninfo, schema, str(now)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    moved = 0
    for n, proc in enumerate(ticks):
        out = finish(proc, "tick: ticker %d" % n)
        print("      " + out.strip())
        for line in out.splitlines():
            if line.startswith("tick:"):
                fields = dict(f.strip().split(" ") for f in line[len("tick:"):].split(","))
                moved += int(fields["reassigned"]) + int(fields["escalated"])
    wall = time.monotonic() - began
    check(moved == len(hot), "tick: the two ticks moved %d leads, %d were overdue" % (moved, len(hot)))
    rows = db.query("SELECT key, rep, hops, coalesce(array_length(history, 1), 0), coalesce(history[1], ''), "
                    "deadline_ms FROM %s.leadroute_claims WHERE NOT is_account" % schema)
    hot_keys = set("lead:" + i for i in hot)
    bad_hot = [r for r in rows if r[0] in hot_keys and
               (r[2] != "1" or r[3] != "1" or r[4] == r[1] or r[5] != str(now + 30 * MINUTE_MS))]
    bad_cold = [r for r in rows if r[0] not in hot_keys and (r[2] != "0" or r[3] != "0")]
    check(len(rows) == len(leads) and not bad_hot and not bad_cold,
          "tick: every overdue lead moved exactly once to another rep, the others not at all "
          "(%d wrong, e.g. %s)" % (len(bad_hot) + len(bad_cold), (bad_hot + bad_cold)[:1]))
    log = dict(db.query("SELECT key, count(*) FROM %s.leadroute_assignments GROUP BY key" % schema))
    check(all(log.get(k) == ("2" if k in hot_keys else "1") for k in ("lead:" + i for i in leads)),
          "tick: two assignment records per moved lead, one per other lead")
    events = dict(db.query("SELECT key, count(*) FROM %s.leadroute_events WHERE kind = 'reassigned' "
                           "GROUP BY key" % schema))
    check(len(events) == len(hot) and all(events.get(k) == "1" for k in hot_keys),
          "tick: one notified move per overdue lead (%d events)" % sum(int(v) for v in events.values()))
    figures["tick"] = "2 processes, %d overdue leads moved once each, wall time %.1f s" % (moved, wall)


def scenario_proof(args, db, work, rng, schema):
    leads = {}
    for n in range(args.leads):
        leads["L-%06d" % n] = ("hot" if rng.random() < HOT_SHARE else "cold",
                               "partner" if rng.random() < PARTNER_SHARE else "direct")
    figures = {}
    route_all(args, db, work, rng, schema, leads, figures)
    check_owners(db, schema, leads)
    check_round_robin(db, schema, figures)
    check_weighted(db, schema, figures)
    tick_all(args, db, schema, leads, figures)
    print("figures:")
    for name in ("routing", "round robin", "weighted", "tick"):
        if name in figures:
            print("  %-12s %s" % (name + ":", figures[name]))


def scenario_demo(args, db, work, rng, schema):
    """The demo's own checks (it makes and drops a schema of its own)."""
    proc = subprocess.run([args.demo, db.conninfo], capture_output=True, text=True, timeout=600)
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
    parser.add_argument("--worker", required=True, help="the pg_store_worker program")
    parser.add_argument("--leads", type=int, default=100000, help="leads in the stream (default 100000)")
    parser.add_argument("--batch", type=int, default=500, help="leads per batch (default 500)")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--only", choices=["demo", "proof"], help="run one scenario")
    parser.add_argument("target", nargs="?", help="conninfo, or a directory made by pg_cluster.sh start")
    args = parser.parse_args()
    if args.leads < 1:
        parser.error("--leads must be at least 1")

    psql = find_psql()
    if not psql:
        print("check_pg_store: psql is not installed; skipping")
        return 77
    target = args.target or os.environ.get("LEADROUTE_PG")
    args.demo = os.path.abspath(args.demo)
    args.worker = os.path.abspath(args.worker)
    rng = random.Random(args.seed)
    schema = "lr_check_proof_%d" % os.getpid()
    with tempfile.TemporaryDirectory(prefix="check_pg_store.") as work:
        cluster = None
        if not target:
            cluster, target = start_cluster(work)
        elif os.path.isdir(target):
            with open(os.path.join(target, "conninfo")) as f:
                target = f.read().strip()
        db = Database(target, psql)
        try:
            db.query("DROP SCHEMA IF EXISTS %s CASCADE" % schema)
            for name, scenario in (("demo", scenario_demo), ("proof", scenario_proof)):
                if args.only in (None, name):
                    scenario(args, db, work, rng, schema)
        finally:
            try:
                db.query("DROP SCHEMA IF EXISTS %s CASCADE" % schema)
            except subprocess.CalledProcessError:
                pass
            if cluster:
                subprocess.run(["sh", os.path.join(HERE, "pg_cluster.sh"), "stop", cluster], check=False)
    print("check_pg_store: %s" % ("all checks passed" if not failures else "%d FAILED" % len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
