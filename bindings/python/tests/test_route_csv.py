#!/usr/bin/env python3
"""examples/route_csv.py: its SqliteStore against the store contract
(Store.commit, close, window, acknowledge, list_due in leadroute/_store.py),
one call at a time, and the program as a user runs it: the lines it prints,
its exit statuses and messages.

Runs with LEADROUTE_LIBRARY and PYTHONPATH as the other binding tests."""

import importlib.util
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import leadroute as lr  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "..", "..", "examples", "route_csv.py")
DATA = os.path.join(HERE, "..", "..", "..", "examples", "data")
NOW = 1772357400125
MINUTE = 60000


def load_example():
    spec = importlib.util.spec_from_file_location("route_csv", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SqliteStore = load_example().SqliteStore


def assignment(key, rep, previous=None, at=NOW, deadline=None, pool="p", value=5.0, hops=None):
    deadline = at + 10 * MINUTE if deadline is None else deadline
    return lr.Assignment(key, key.split(":", 1)[1], rep, previous, pool, "r", 1, at, 10.0, deadline, value,
                         (0 if previous is None else 1) if hops is None else hops, False)


def commit(store, key, rep, previous=None, follow_up=False, capacity=0, account=None, pool_id=None, version=0,
           **kw):
    store.commit(lr.Commit(assignment(key, rep, previous, **kw), pool_id, version, b"st" if pool_id else b"",
                           capacity, account, follow_up))


class SqliteStoreContract(unittest.TestCase):
    def setUp(self):
        self.s = SqliteStore()

    def tearDown(self):
        self.s.close_db()

    def test_pool_version_counts_up_by_one(self):
        commit(self.s, "lead:a", "alice", pool_id="p", version=0)
        self.assertEqual(self.s.load_pool("p"), (b"st", 1))
        commit(self.s, "lead:b", "alice", pool_id="p", version=1)
        self.assertEqual(self.s.load_pool("p"), (b"st", 2))
        with self.assertRaises(lr.ConflictError):
            commit(self.s, "lead:c", "alice", pool_id="p", version=1)

    def test_capacity(self):
        commit(self.s, "lead:a", "alice", capacity=0)  # 0: no cap
        commit(self.s, "lead:b", "alice", capacity=0)
        with self.assertRaises(lr.ConflictError):  # 2 open, a cap of 2: full
            commit(self.s, "lead:c", "alice", capacity=2)
        commit(self.s, "lead:c", "alice", capacity=3)
        self.assertEqual(self.s.open_count("alice"), 3)
        self.assertIsNone(self.s.find_claim("lead:d"))

    def test_refused_commit_leaves_nothing_and_the_next_one_works(self):
        commit(self.s, "lead:a", "alice")
        with self.assertRaises(lr.ExistsError):
            commit(self.s, "lead:a", "bob")
        commit(self.s, "lead:b", "bob")  # a refused commit's transaction is rolled back
        self.assertEqual(self.s.lead_claims(), {"lead:a": "alice", "lead:b": "bob"})
        self.assertEqual((self.s.open_count("alice"), self.s.open_count("bob")), (1, 1))

    def test_key_held_by_another_than_previous(self):
        commit(self.s, "lead:a", "alice")
        for previous in (None, "bob"):
            with self.assertRaises(lr.ExistsError) as cm:
                commit(self.s, "lead:a", "carol", previous=previous)
            self.assertEqual(cm.exception.owner, "alice")
        self.assertEqual(self.s.find_claim("lead:a"), "alice")
        self.assertEqual(self.s.open_count("carol"), 0)

    def test_account_claim_stays_with_its_first_owner(self):
        commit(self.s, "lead:a", "alice", account="account:x.com")
        commit(self.s, "lead:b", "bob", account="account:x.com")
        self.assertEqual(self.s.account_claims(), {"account:x.com": "alice"})
        with self.assertRaises(lr.NotFoundError):
            self.s.close("account:x.com")
        self.assertEqual(self.s.open_total(), 2)

    def test_follow_up_move_at_the_deadline(self):
        commit(self.s, "lead:a", "alice")
        commit(self.s, "lead:a", "bob", previous="alice", follow_up=True, at=NOW + 10 * MINUTE)  # due exactly now
        self.assertEqual(self.s.find_claim("lead:a"), "bob")

    def test_follow_up_refused_when_assigned_again_since(self):
        commit(self.s, "lead:a", "alice")
        commit(self.s, "lead:a", "bob", previous="alice", at=NOW + 5 * MINUTE)  # a new deadline: NOW + 15
        with self.assertRaises(lr.ExistsError) as cm:
            commit(self.s, "lead:a", "carol", previous="bob", follow_up=True, at=NOW + 10 * MINUTE)
        self.assertEqual(cm.exception.owner, "bob")
        self.assertEqual(self.s.find_claim("lead:a"), "bob")

    def test_moves_keep_one_current_record_with_the_history(self):
        commit(self.s, "lead:a", "alice")
        commit(self.s, "lead:a", "bob", previous="alice", follow_up=True, at=NOW + 10 * MINUTE)
        commit(self.s, "lead:a", "carol", previous="bob", follow_up=True, at=NOW + 20 * MINUTE, hops=2)
        due = self.s.list_due(NOW + 10 ** 9)
        self.assertEqual([(a.key, a.rep, a.hops, a.history) for a in due], [("lead:a", "carol", 2, ("alice", "bob"))])
        self.assertEqual(self.s.open_total(), 1)

    def test_window_counts_from_since_on(self):
        commit(self.s, "lead:a", "alice", at=NOW, value=5.0)
        commit(self.s, "lead:b", "alice", at=NOW + 1, value=2.5)
        self.assertEqual(self.s.window("alice", None, NOW), (2, 7.5))
        self.assertEqual(self.s.window("alice", None, NOW + 1), (1, 2.5))
        self.assertEqual(self.s.window(None, "p", NOW), (2, 7.5))

    def test_acknowledge(self):
        commit(self.s, "lead:c", "carol", at=NOW + 100, pool="q")
        # timed before its assignment: recorded at the assignment's time, which is returned
        self.assertEqual(self.s.acknowledge("lead:c", NOW + 40), (NOW + 100, "carol", "q"))
        self.assertEqual(self.s._one("SELECT acknowledged_ms FROM assignments WHERE key = ? AND current = 1",
                                     "lead:c")[0], NOW + 100)
        with self.assertRaises(lr.ExistsError):
            self.s.acknowledge("lead:c", NOW + 200)
        with self.assertRaises(lr.NotFoundError):
            self.s.acknowledge("lead:nobody", NOW)
        self.assertEqual(self.s.list_due(NOW + 10 ** 9), [])

    def test_list_due(self):
        commit(self.s, "lead:a", "alice", deadline=NOW + 10 * MINUTE)
        commit(self.s, "lead:n", "alice", deadline=0)  # no SLA: never due
        self.assertEqual([a.key for a in self.s.list_due(NOW + 10 * MINUTE - 1)], [])
        self.assertEqual([a.key for a in self.s.list_due(NOW + 10 * MINUTE)], ["lead:a"])
        self.assertEqual([a.key for a in self.s.list_due(NOW + 10 ** 9)], ["lead:a"])


def run_example(*args):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.run([sys.executable, EXAMPLE, *args], capture_output=True, text=True, env=env, timeout=120)
    return p.returncode, p.stdout, p.stderr


class Program(unittest.TestCase):
    def test_sample_data(self):
        rc, out, err = run_example()
        self.assertEqual((rc, err), (0, ""))
        lines = out.splitlines()
        self.assertIn("summary: assigned 21, queued 6, unassigned 1, unrouted 1", lines)
        self.assertIn("  L-1008   queued     solutions-desk               rule solutions", lines)
        self.assertIn("  L-1001   assigned   marcus   enterprise    rule vip", lines)
        self.assertIn("  L-1025   unassigned -                      rule catch-all", lines)
        self.assertIn("  L-1027   unrouted: lead field 'employees': 'lots' is not a number", lines)
        self.assertIn("on vacation: camille", lines)
        per_rep = [line for line in lines if line.startswith("per rep: ")]
        self.assertEqual(len(per_rep), 1)
        self.assertNotIn("camille", per_rep[0])
        self.assertTrue(per_rep[0].startswith("per rep: priya 3, jonas 3, diego 3, nina 3, omar 3, "), per_rep[0])

    def test_no_vacation(self):
        files = [os.path.join(DATA, n) for n in ("routing.csv", "reps.csv", "leads.csv")]
        rc, out, err = run_example(*files)
        self.assertEqual((rc, err), (0, ""))
        self.assertNotIn("on vacation", out)

    def test_second_run_on_a_file_finds_the_claims(self):
        with tempfile.TemporaryDirectory() as tmp:
            db = os.path.join(tmp, "s.db")
            self.assertEqual(run_example("--db", db)[0], 0)
            rc, out, err = run_example("--db", db)
            self.assertEqual((rc, err), (0, ""))
            lines = out.splitlines()
            self.assertIn("  L-1001   existing   marcus                 rule vip", lines)
            self.assertIn("summary: existing 21, queued 6, unassigned 1, unrouted 1", lines)

    def test_usage_and_errors(self):
        table, roster = os.path.join(DATA, "routing.csv"), os.path.join(DATA, "reps.csv")
        rc, out, err = run_example(table, roster)
        self.assertEqual(rc, 2)
        self.assertIn("give TABLE ROSTER LEADS.csv, or nothing for the sample data", err)
        rc, out, err = run_example("--vacation", "camille,nobody,zed")
        self.assertEqual((rc, err), (1, "route_csv: --vacation names reps not in the roster: nobody, zed\n"))
        rc, out, err = run_example(os.path.join(DATA, "no-such.csv"), roster, os.path.join(DATA, "leads.csv"))
        self.assertEqual(rc, 1)
        self.assertTrue(err.startswith("route_csv: ") and "no-such.csv" in err, err)
        with tempfile.TemporaryDirectory() as tmp:
            db = os.path.join(tmp, "missing-dir", "s.db")
            rc, out, err = run_example("--db", db)
            self.assertEqual(rc, 1)
            self.assertTrue(err.startswith("route_csv: %s: " % db), err)

    def test_summary_sorted_by_status(self):
        with tempfile.TemporaryDirectory() as tmp:
            leads = os.path.join(tmp, "leads.csv")
            with open(os.path.join(DATA, "leads.csv"), encoding="utf-8") as f:
                rows = f.read().splitlines()
            with open(leads, "w", encoding="utf-8") as f:  # the unassigned lead first, then an assigned one
                f.write("\n".join([rows[0]] + [r for r in rows if r.startswith(("L-1025,", "L-1001,"))][::-1]) + "\n")
            rc, out, err = run_example(os.path.join(DATA, "routing.csv"), os.path.join(DATA, "reps.csv"), leads)
            self.assertEqual((rc, err), (0, ""))
            self.assertIn("summary: assigned 1, unassigned 1", out.splitlines())

    def test_nothing_assigned_fails(self):
        with tempfile.TemporaryDirectory() as tmp:
            table = os.path.join(tmp, "t.csv")
            with open(table, "w") as f:
                f.write("rule,region,out:pool\nnowhere,MARS,enterprise\n")
            rc, out, err = run_example(table, os.path.join(DATA, "reps.csv"), os.path.join(DATA, "leads.csv"))
            self.assertEqual(rc, 1)
            self.assertIn("route_csv: FAILED: no lead was assigned\n", err)


if __name__ == "__main__":
    unittest.main()
