#!/usr/bin/env python3
"""route_csv: route a CSV file of leads from Python, with Python callbacks.

    python3 examples/route_csv.py [--db FILE] [--vacation REP,REP] [TABLE ROSTER LEADS.csv]

Without files it routes examples/data/leads.csv with examples/data/routing.csv
and examples/data/reps.csv, with camille on vacation.

What it shows:
- a store written in Python: SqliteStore keeps pool states, claims, open
  counts and assignments in SQLite (Python's sqlite3 module; in memory, or in
  FILE with --db, where a second run finds the leads already claimed), one
  transaction per commit as the store contract in docs/router.md asks (a
  tick's move gives way to a close or an acknowledgement made since the
  lead came due);
- a notify callback that collects the assignments;
- an availability callback that keeps reps on vacation out of the rotation.

It checks its own results and exits non-zero if no lead was assigned, a lead
was assigned twice, a rep on vacation got a lead, the store and the
notifications disagree, or routing the leads again does not find every one of
them claimed.

Needs the bindings on the path and the library: PYTHONPATH=bindings/python,
and LEADROUTE_LIBRARY=path/to/libleadroute.so.1 unless it is installed.

SPDX-License-Identifier: MIT
"""

import argparse
import os
import sqlite3
import sys
import threading
from collections import Counter

import leadroute as lr

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

SCHEMA = """
CREATE TABLE IF NOT EXISTS pool_state (pool_id TEXT PRIMARY KEY, version INTEGER NOT NULL, state BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, rep_id TEXT NOT NULL, is_account INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS open_leads (rep_id TEXT PRIMARY KEY, open INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS assignments (
    key TEXT NOT NULL, lead_id TEXT, rep_id TEXT NOT NULL, previous TEXT, pool_id TEXT, window_pool TEXT,
    rule_id TEXT, table_hash TEXT, at_ms INTEGER, sla_minutes REAL, deadline_ms INTEGER, value REAL,
    hops INTEGER, escalated INTEGER, history TEXT NOT NULL, acknowledged_ms INTEGER NOT NULL,
    current INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS assignments_current ON assignments (key, current);
"""


class SqliteStore(lr.Store):
    """The store contract on SQLite. One connection shared by the routing
    threads behind a lock; every commit is one BEGIN IMMEDIATE transaction."""

    def __init__(self, path=":memory:"):
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.executescript(SCHEMA)

    def close_db(self):
        self._db.close()

    def _one(self, sql, *args):
        return self._db.execute(sql, args).fetchone()

    def load_pool(self, pool_id):
        with self._lock:
            row = self._one("SELECT state, version FROM pool_state WHERE pool_id = ?", pool_id)
        return (bytes(row[0]), row[1]) if row else (b"", 0)

    def find_claim(self, key):
        with self._lock:
            row = self._one("SELECT rep_id FROM claims WHERE key = ?", key)
        return row[0] if row else None

    def open_count(self, rep_id):
        with self._lock:
            row = self._one("SELECT open FROM open_leads WHERE rep_id = ?", rep_id)
        return max(row[0], 0) if row else 0

    def commit(self, commit):
        a = commit.assignment
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._commit(commit, a)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _commit(self, commit, a):
        if commit.pool_id is not None:
            row = self._one("SELECT version FROM pool_state WHERE pool_id = ?", commit.pool_id)
            if (row[0] if row else 0) != commit.expected_version:
                raise lr.ConflictError("pool %s moved" % commit.pool_id)
        if commit.capacity > 0:
            row = self._one("SELECT open FROM open_leads WHERE rep_id = ?", a.rep)
            if (row[0] if row else 0) >= commit.capacity:
                raise lr.ConflictError("%s is full" % a.rep)
        row = self._one("SELECT rep_id, is_account FROM claims WHERE key = ?", a.key)
        if row and (a.previous is None or row[0] != a.previous):
            raise lr.ExistsError("%s is held" % a.key, owner=row[0])
        if commit.follow_up and a.previous is not None:
            # a tick's move: a close or an acknowledgement since the lead came due stands
            if row is None:
                raise lr.ExistsError("%s was closed since it came due" % a.key, owner="")
            cur = self._one("SELECT acknowledged_ms, deadline_ms FROM assignments WHERE key = ? AND current = 1",
                            a.key)
            if cur and cur[0]:
                raise lr.ExistsError("%s was acknowledged since it came due" % a.key, owner=row[0])
            if cur and not 0 < cur[1] <= a.at_ms:
                raise lr.ExistsError("%s was assigned again since it came due" % a.key, owner=row[0])
        history = []
        if a.previous is not None:
            old = self._one("SELECT history FROM assignments WHERE key = ? AND current = 1", a.key)
            history = [h for h in (old[0].split("\n") if old else []) if h] + [a.previous]
        # every check passed: the writes
        if commit.pool_id is not None:
            self._db.execute("INSERT INTO pool_state VALUES (?, ?, ?) ON CONFLICT (pool_id) DO UPDATE SET "
                             "version = excluded.version, state = excluded.state",
                             (commit.pool_id, commit.expected_version + 1, commit.state))
        self._db.execute("INSERT INTO claims VALUES (?, ?, 0) ON CONFLICT (key) DO UPDATE SET "
                         "rep_id = excluded.rep_id, is_account = 0", (a.key, a.rep))
        self._db.execute("INSERT INTO open_leads VALUES (?, 1) ON CONFLICT (rep_id) DO UPDATE SET open = open + 1",
                         (a.rep,))
        if row and not row[1]:  # the previous holder still held it as a lead
            self._db.execute("UPDATE open_leads SET open = open - 1 WHERE rep_id = ?", (a.previous,))
        self._db.execute("UPDATE assignments SET current = 0 WHERE key = ?", (a.key,))
        self._db.execute("INSERT INTO assignments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 1)",
                         (a.key, a.lead_id, a.rep, a.previous, a.pool, a.pool or commit.pool_id, a.rule,
                          "%016x" % a.table_hash, a.at_ms, a.sla_minutes, a.deadline_ms, a.value, a.hops,
                          int(a.escalated), "\n".join(history)))
        if commit.account_key is not None and commit.account_key != a.key:
            self._db.execute("INSERT INTO claims VALUES (?, ?, 1) ON CONFLICT (key) DO NOTHING",
                             (commit.account_key, a.rep))

    def close(self, key):
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._one("SELECT rep_id, is_account FROM claims WHERE key = ?", key)
            if row is None or row[1]:  # an account's claim stays with its first owner
                self._db.execute("ROLLBACK")
                raise lr.NotFoundError("%s is not claimed" % key)
            self._db.execute("DELETE FROM claims WHERE key = ?", (key,))
            self._db.execute("UPDATE open_leads SET open = open - 1 WHERE rep_id = ?", (row[0],))
            self._db.execute("UPDATE assignments SET current = 0 WHERE key = ?", (key,))
            self._db.execute("COMMIT")

    def window(self, rep_id, pool_id, since_ms):
        column, name = ("rep_id", rep_id) if rep_id is not None else ("window_pool", pool_id)
        with self._lock:
            n, total = self._one("SELECT count(*), coalesce(sum(value), 0) FROM assignments "
                                 "WHERE %s = ? AND at_ms >= ?" % column, name, since_ms)
        return n, float(total)

    def acknowledge(self, key, at_ms):
        with self._lock:
            row = self._one("SELECT a.at_ms, a.rep_id, coalesce(a.pool_id, ''), a.acknowledged_ms FROM assignments a "
                            "JOIN claims c ON c.key = a.key AND c.is_account = 0 WHERE a.key = ? AND a.current = 1",
                            key)
            if row is None:
                raise lr.NotFoundError("%s is not claimed" % key)
            if row[3]:
                raise lr.ExistsError("%s was acknowledged before" % key)
            # never before the assignment: the router read its clock before this call
            self._db.execute("UPDATE assignments SET acknowledged_ms = ? WHERE key = ? AND current = 1",
                             (max(at_ms, row[0]), key))
        return row[0], row[1], row[2]

    def list_due(self, now_ms):
        with self._lock:
            rows = self._db.execute(
                "SELECT a.key, a.lead_id, a.rep_id, a.pool_id, a.rule_id, a.table_hash, a.at_ms, a.sla_minutes, "
                "a.deadline_ms, a.value, a.hops, a.escalated, a.history FROM assignments a "
                "JOIN claims c ON c.key = a.key AND c.is_account = 0 "
                "WHERE a.current = 1 AND a.acknowledged_ms = 0 AND a.deadline_ms != 0 AND a.deadline_ms <= ?",
                (now_ms,)).fetchall()
        return [lr.Assignment(r[0], r[1], r[2], None, r[3], r[4], int(r[5], 16), r[6], r[7], r[8], r[9], r[10],
                              bool(r[11]), tuple(h for h in r[12].split("\n") if h)) for r in rows]

    def lead_claims(self):
        with self._lock:
            return dict(self._db.execute("SELECT key, rep_id FROM claims WHERE is_account = 0").fetchall())

    def account_claims(self):
        with self._lock:
            return dict(self._db.execute("SELECT key, rep_id FROM claims WHERE is_account = 1").fetchall())

    def open_total(self):
        with self._lock:
            return self._one("SELECT coalesce(sum(open), 0) FROM open_leads")[0]


def main(argv):
    ap = argparse.ArgumentParser(description="Route a CSV file of leads with Python callbacks.")
    ap.add_argument("--db", default=":memory:", help="SQLite file for the store (default: in memory)")
    ap.add_argument("--vacation", default=None, help="comma-separated rep ids who are away")
    ap.add_argument("files", nargs="*", metavar="TABLE ROSTER LEADS.csv")
    args = ap.parse_args(argv)
    if len(args.files) not in (0, 3):
        ap.error("give TABLE ROSTER LEADS.csv, or nothing for the sample data")
    sample = not args.files
    table_path, roster_path, leads_path = args.files or [os.path.join(DATA, n)
                                                          for n in ("routing.csv", "reps.csv", "leads.csv")]
    vacation = set(filter(None, (args.vacation if args.vacation is not None
                                 else ("camille" if sample else "")).split(",")))

    try:
        table = lr.Table.load(table_path)
        roster = lr.Roster.load(roster_path)
        leads = lr.Leads.load(leads_path, table=table)
    except lr.LeadrouteError as exc:
        print("route_csv: %s" % exc, file=sys.stderr)
        return 1
    unknown = vacation - set(roster.reps)
    if unknown:
        print("route_csv: --vacation names reps not in the roster: %s" % ", ".join(sorted(unknown)), file=sys.stderr)
        return 1

    notified = []

    def on_vacation(rep_id, lead_id, fields, now_ms):
        return "vacation" if rep_id in vacation else True

    try:
        store = SqliteStore(args.db)
    except (sqlite3.Error, OSError) as exc:
        print("route_csv: %s: %s" % (args.db, exc), file=sys.stderr)
        return 1
    router = lr.Router(table, roster, store=store, notify=notified.append, availability=on_vacation)
    claimed_before = set(store.lead_claims())

    print("table %s (%s), %d reps, %d leads from %s" % (table.name or table_path, table.version or "-",
                                                       len(roster.reps), len(leads), leads_path))
    for row in leads.skipped:
        print("  skipped: %s" % row.message)
    statuses = Counter()
    per_rep = Counter()
    assigned = {}
    for lead in leads:
        try:
            d = router.route(lead)
        except (sqlite3.Error, OSError) as exc:  # the store failed: its transaction was rolled back
            print("route_csv: %s: %s (lead %s and those after it are not routed)" % (args.db, exc, lead.id),
                  file=sys.stderr)
            return 1
        except lr.LeadrouteError as exc:  # a bad lead: nothing was changed
            statuses["unrouted"] += 1
            print("  %-8s unrouted: %s" % (lead.id, exc))
            continue
        statuses[d.status] += 1
        where = d.rep or d.queue or "-"
        print("  %-8s %-10s %-8s %-13s rule %s" % (lead.id, d.status, where, d.pool or "", d.rule or "-"))
        if d.status == "assigned":
            per_rep[d.rep] += 1
            assigned[lead.id] = d.rep

    print("summary: %s" % ", ".join("%s %d" % kv for kv in sorted(statuses.items())))
    print("per rep: %s" % ", ".join("%s %d" % kv for kv in per_rep.most_common()))
    if vacation:
        print("on vacation: %s" % ", ".join(sorted(vacation)))

    # Self-checks: what the router, the callbacks and the store promise.
    problems = []
    keys = [a.key for a in notified]
    if args.db == ":memory:" and not assigned:
        problems.append("no lead was assigned")
    if len(keys) != len(set(keys)):
        problems.append("a lead was assigned twice: %s" % [k for k, n in Counter(keys).items() if n > 1])
    if sorted(keys) != sorted("lead:" + k for k in assigned):
        problems.append("notifications and decisions disagree")
    away = [a.rep for a in notified if a.rep in vacation]
    if away:
        problems.append("reps on vacation got leads: %s" % sorted(set(away)))
    claims = store.lead_claims()
    new_claims = {k: v for k, v in claims.items() if k not in claimed_before}
    if new_claims != {"lead:" + k: rep for k, rep in assigned.items()}:
        problems.append("the store's claims do not match the assignments")
    if store.open_total() != len(claims):
        problems.append("open counts (%d) do not add up to the claims (%d)" % (store.open_total(), len(claims)))
    if router.metrics()["routed"] != len(assigned):
        problems.append("metrics count %d assignments, %d were made" % (router.metrics()["routed"], len(assigned)))
    for key in sorted(store.account_claims())[:1]:  # close is for leads: an account's claim stays with its first owner
        try:
            store.close(key)
            problems.append("closing the account claim %s released it" % key)
        except lr.NotFoundError:
            pass
    for lead_id, rep in assigned.items():
        again = router.route(lead_id, {}, dry_run=True)
        if (again.status, again.rep) != ("existing", rep):
            problems.append("%s routed again: %s %s, expected existing %s" % (lead_id, again.status, again.rep, rep))
    router.free()
    store.close_db()
    for p in problems:
        print("route_csv: FAILED: %s" % p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
