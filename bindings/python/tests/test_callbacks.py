"""Tests of Python callbacks: stores, exceptions in every callback kind,
threads, garbage collection while C holds a callback, and the rest of the API
(leads files, builder, lint, metrics getters, pending notifications, fork)."""

import ctypes
import dataclasses
import gc
import importlib.util
import os
import subprocess
import sys
import threading
import unittest
import weakref

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import leadroute as lr  # noqa: E402

NOW = 1772357400125
MINUTE = 60000

TABLE = """#! name: callbacks
rule,kind,out:pool,out:sla_minutes:number,out:owner
direct,own,,15,carol
rr,rr,rr,10,
wt,wt,wt,10,
ll,ll,ll,10,
vb,vb,vb,10,
capped,cap,capped,10,
"""

REPS = [
    {"id": "alice", "pools": ["rr", "wt", "ll", "vb", "capped"], "weight": 3, "capacity": 4, "cap_day": 2},
    {"id": "bob", "pools": ["rr", "wt", "ll", "vb", "capped"], "capacity": 3},
    {"id": "carol", "pools": ["rr", "wt", "vb"], "weight": 2},
]
POOLS = [
    {"id": "rr", "owner_first": True, "sla_minutes": 5},
    {"id": "wt", "strategy": "weighted"},
    {"id": "ll", "strategy": "least_loaded", "on_empty": "queue", "queue": "overflow"},
    {"id": "vb", "strategy": "value_balanced", "value_field": "amount"},
    {"id": "capped", "cap_day": 3, "on_empty": "unassigned"},
]


def leads_sequence():
    """Leads touching every strategy, account claims, capacity and caps."""
    kinds = ["rr", "wt", "ll", "vb", "cap", "own"]
    seq = []
    for i in range(48):
        kind = kinds[i % len(kinds)]
        fields = {"kind": kind, "amount": (i * 37) % 500}
        if kind == "rr":
            fields["email"] = "buyer%d@company%d.com" % (i, i % 3)  # the same accounts come back
        seq.append(("L%02d" % i, fields))
    return seq


class Clock:
    def __init__(self, now=NOW):
        self.now = now

    def __call__(self):
        return self.now


def make_router(store=None, **kw):
    kw.setdefault("clock", Clock())
    return lr.Router(lr.Table.parse(TABLE), lr.Roster.from_dicts(REPS, POOLS), store=store, **kw)


def outcome(d):
    return (d.status, d.rep, d.pool, d.queue, d.rule, d.reason)


class MemoryStoreMatchesBuiltin(unittest.TestCase):
    def run_sequence(self, store):
        clock = Clock()
        seen = []
        r = make_router(store, clock=clock, notify=seen.append)
        out = []
        for n, (lead_id, fields) in enumerate(leads_sequence()):
            clock.now = NOW + n * 1000
            out.append(outcome(r.route(lead_id, fields)))
            if n % 7 == 3:
                r.close(lead_id) if out[-1][0] == "assigned" else None
            if n % 11 == 5 and out[-1][0] == "assigned":
                r.acknowledge(lead_id)
        out.append(outcome(r.route("L00", {"kind": "rr"})))  # claimed already
        out.append(outcome(r.route("L05", {"kind": "wt"}, reassign=True, trace=True)))
        before_tick = sorted((a.key, a.rep, a.history, a.hops, a.deadline_ms) for a in r.list_due())
        notified = [(a.key, a.rep, a.previous, a.hops) for a in seen]
        metrics = r.metrics()
        # Stores list due leads in no particular order, and the order decides
        # which rep each one moves to: compare what does not depend on it.
        ticked = r.tick(NOW + 30 * MINUTE, lookup=lambda key: None)
        due_keys = sorted(a.key for a in r.list_due())
        return out, ticked, (before_tick, due_keys), metrics, notified

    def test_same_decisions_as_builtin_store(self):
        builtin = self.run_sequence(None)
        store = lr.MemoryStore()
        python = self.run_sequence(store)
        self.assertEqual(python[0], builtin[0])
        self.assertEqual(python[1], builtin[1])
        self.assertEqual(python[2], builtin[2])
        self.assertEqual(python[3], builtin[3])
        self.assertEqual(python[4], builtin[4])
        # the sequence did exercise what it is meant to
        statuses = {o[0] for o in builtin[0]}
        self.assertTrue({"assigned", "existing", "queued", "unassigned"} <= statuses, statuses)
        self.assertGreater(builtin[1]["reassigned"], 0)
        self.assertTrue(any(k.startswith("account:") for k in store.claims))
        account = next(k for k in store.claims if k.startswith("account:"))
        with self.assertRaises(lr.NotFoundError):  # close is for leads: the account stays claimed
            store.close(account)
        self.assertIn(account, store.claims)
        self.assertGreater(store.commits, 20)

    def test_windows_as_the_builtin_store(self):
        """Small deals beside very large ones count, and one assignment from a
        clock far ahead does not push the others out of the windows: the
        MemoryStore decides as the built-in store does."""
        import time as _time
        day = 86400000

        def sums(store):
            now = int(_time.time() * 1000)
            t = [now - 40 * day]
            reps = [{"id": "alice", "pools": ["pa", "vb"]}, {"id": "bob", "pools": ["pb", "vb"]}]
            pools = [{"id": p, "strategy": "value_balanced", "value_window_days": 7} for p in ("pa", "pb", "vb")]
            r = lr.Router(lr.Table.parse("rule,team,out:pool\nra,a,pa\nrb,b,pb\nrv,v,vb\n"),
                          lr.Roster.from_dicts(reps, pools), clock=lambda: t[0])
            if store is not None:
                r.set_store(store)
            n = iter(range(1000))

            def route(team, v):
                return r.route("L%d" % next(n), {"team": team, "deal_value": v})
            for _ in range(10):  # 40 days ago, outside every window: sums past 2^53
                route("a", 1e15)
                route("b", 1e15)
            t[0] = now
            for _ in range(3):
                route("a", 0.9)  # this week: alice 2.7
            route("b", 2.0)  # bob 2.0
            return route("v", 10.0).rep, (store.window("alice", None, now - 7 * day) if store else None)

        self.assertEqual(sums(None)[0], "bob")
        rep, alice = sums(lr.MemoryStore())
        self.assertEqual(rep, "bob")
        self.assertEqual(alice, (3, 2.7))

        def capped(store):
            now = int(_time.time() * 1000)
            t = [now + 40 * day]  # one host's clock runs 40 days ahead
            roster = lr.Roster.from_dicts([{"id": "alice", "pools": ["p"], "cap_day": 2}], [{"id": "p"}])
            r = lr.Router(lr.Table.parse("rule,kind,out:pool\nr,a,p\n"), roster, clock=lambda: t[0])
            if store is not None:
                r.set_store(store)
            out = [r.route("L0", {"kind": "a"}).status]
            t[0] = now
            return out + [r.route("L%d" % i, {"kind": "a"}).status for i in (1, 2, 3)]

        # the assignment ahead counts in the day's window too (at or after
        # its start); what matters is that the others stay in it
        want = ["assigned", "assigned", "unassigned", "unassigned"]
        self.assertEqual(capped(None), want)
        self.assertEqual(capped(lr.MemoryStore()), want)

        def behind(store):
            now = int(_time.time() * 1000)
            t = [now]
            roster = lr.Roster.from_dicts([{"id": "alice", "pools": ["p"], "cap_day": 2}], [{"id": "p"}])
            r = lr.Router(lr.Table.parse("rule,kind,out:pool\nr,a,p\n"), roster, clock=lambda: t[0])
            if store is not None:
                r.set_store(store)
            out = [r.route("L0", {"kind": "a"}).status]
            t[0] = now - 40 * day  # now the clock runs 40 days behind: its entries are kept
            return out + [r.route("L%d" % i, {"kind": "a"}).status for i in (1, 2, 3)]

        # L0 counts in the day's window of the clock behind too (after its start)
        want = ["assigned", "assigned", "unassigned", "unassigned"]
        self.assertEqual(behind(None), want)
        self.assertEqual(behind(lr.MemoryStore()), want)

    def test_pool_state_and_counts_in_store(self):
        store = lr.MemoryStore()
        r = make_router(store)
        for i in range(4):
            r.route("W%d" % i, {"kind": "wt"})
        state, version = store.load_pool("wt")
        self.assertEqual(version, 4)
        self.assertTrue(state.startswith(b"wr1 "), state)
        self.assertEqual(sum(store.open_counts.values()), 4)
        self.assertEqual(store.open_counts, {"alice": 2, "carol": 1, "bob": 1})
        r.close("W0")
        self.assertEqual(sum(store.open_counts.values()), 3)
        self.assertIsNone(store.find_claim("lead:W0"))


class ExistsStore(lr.MemoryStore):
    """Another host claims the lead between find_claim and commit."""

    def __init__(self, key, rep):
        super().__init__()
        self.steal = (key, rep)
        self.commit_calls = 0

    def commit(self, commit):
        self.commit_calls += 1
        if self.steal and commit.assignment.key == self.steal[0]:
            key, rep = self.steal
            self.steal = None
            with self._lock:
                self._claims[key] = lr._store._Claim(rep, True, None)
                self._open[rep] = self._open.get(rep, 0) + 1
        super().commit(commit)


class ConflictStore(lr.MemoryStore):
    """Another host writes the pool state `times` times just before our commit."""

    def __init__(self, times):
        super().__init__()
        self.times = times
        self.commit_calls = 0

    def commit(self, commit):
        self.commit_calls += 1
        if self.times and commit.pool_id is not None:
            self.times -= 1
            with self._lock:
                version, state = self._pools.get(commit.pool_id, (0, b""))
                self._pools[commit.pool_id] = (version + 1, state)
        super().commit(commit)


class ConflictAndExistsPaths(unittest.TestCase):
    def test_claim_lost_between_read_and_commit(self):
        store = ExistsStore("lead:L1", "zed")
        r = make_router(store)
        d = r.route("L1", {"kind": "rr"})
        self.assertEqual((d.status, d.rep), ("existing", "zed"))
        self.assertIn("claimed while this call was deciding", d.reason)
        self.assertEqual(store.commit_calls, 1)
        self.assertEqual(store.open_counts, {"zed": 1})
        # the rotation did not move: the next lead goes to the first rep
        self.assertEqual(r.route("L2", {"kind": "rr"}).rep, "alice")

    def test_conflict_is_retried(self):
        store = ConflictStore(times=3)
        r = make_router(store)
        d = r.route("L1", {"kind": "rr"})
        self.assertEqual((d.status, d.rep), ("assigned", "alice"))
        self.assertEqual(store.commit_calls, 4)
        self.assertEqual(store.load_pool("rr")[1], 4)  # three foreign writes and ours

    def test_conflicts_beyond_max_retries(self):
        store = ConflictStore(times=10 ** 6)
        r = make_router(store, max_retries=5)
        with self.assertRaises(lr.ConflictError) as cm:
            r.route("L1", {"kind": "rr"})
        self.assertEqual(cm.exception.decision.status, "unrouted")
        self.assertEqual(store.commit_calls, 6)
        self.assertIsNone(store.find_claim("lead:L1"))
        self.assertEqual(r.unrouted("error"), 1)

    def test_memory_store_contract_directly(self):
        s = lr.MemoryStore()

        def commit(key, rep, pool="p", expected=0, capacity=0, previous=None, account=None, at=NOW):
            a = lr.Assignment(key, key[5:], rep, previous, pool, "r", 1, at, 10.0, at + 10 * MINUTE, 5.0, 0,
                              False)
            s.commit(lr.Commit(a, pool, expected, b"state", capacity, account))

        commit("lead:a", "alice", account="account:x.com")
        with self.assertRaises(lr.ConflictError):
            commit("lead:b", "bob", expected=0)  # the pool is at version 1 now
        with self.assertRaises(lr.ExistsError) as cm:
            commit("lead:a", "bob", expected=1)
        self.assertEqual(cm.exception.owner, "alice")
        with self.assertRaises(lr.ConflictError):
            commit("lead:b", "alice", expected=1, capacity=1)
        self.assertEqual(s.load_pool("p"), (b"state", 1))  # nothing changed by the failures
        commit("lead:a", "bob", expected=1, previous="alice")
        self.assertEqual(s.open_counts, {"alice": 0, "bob": 1})
        self.assertEqual(s.claims, {"lead:a": "bob", "account:x.com": "alice"})
        self.assertEqual(s.window("bob", None, NOW), (1, 5.0))
        self.assertEqual(s.window(None, "p", NOW), (2, 10.0))
        self.assertEqual(s.window(None, "p", NOW + 1), (0, 0.0))
        due = s.list_due(NOW + 10 * MINUTE)
        self.assertEqual([(a.key, a.rep, a.history) for a in due], [("lead:a", "bob", ("alice",))])
        self.assertEqual(s.acknowledge("lead:a", NOW + 5), (NOW, "bob", "p"))
        with self.assertRaises(lr.ExistsError):
            s.acknowledge("lead:a", NOW + 6)
        self.assertEqual(s.list_due(NOW + 10 ** 9), [])
        with self.assertRaises(lr.NotFoundError):
            s.acknowledge("account:x.com", NOW)
        s.close("lead:a")
        with self.assertRaises(lr.NotFoundError):
            s.close("lead:a")
        self.assertEqual(s.open_counts["bob"], 0)
        # an acknowledgement timed before its assignment is recorded at the assignment's time
        commit("lead:c", "carol", pool="q", at=NOW + 100)
        self.assertEqual(s.acknowledge("lead:c", NOW + 40), (NOW + 100, "carol", "q"))
        self.assertEqual(s._claims["lead:c"].record["acknowledged_ms"], NOW + 100)


def route_csv_store_class():
    """SqliteStore of examples/route_csv.py, the store a vendor copies for Python."""
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "..", "examples", "route_csv.py")
    spec = importlib.util.spec_from_file_location("route_csv", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SqliteStore


def racing_store(base):
    """`base` with another host's close or acknowledgement landing between a
    tick's listing and its move (set `race` to "close" or "acknowledge")."""

    class Racing(base):
        race = None

        def __init__(self):
            super().__init__()
            self.seen = []  # (key, follow_up) of every commit

        def commit(self, commit):
            self.seen.append((commit.assignment.key, commit.follow_up))
            if commit.follow_up and self.race:
                race, self.race = self.race, None
                if race == "close":
                    self.close(commit.assignment.key)
                else:
                    self.acknowledge(commit.assignment.key, NOW + 11 * MINUTE)
            super().commit(commit)

    return Racing


class FollowUpMoves(unittest.TestCase):
    """A tick's move (Commit.follow_up, LEADROUTE_COMMIT_FOLLOW_UP) gives way
    to a close or an acknowledgement made after the lead came due."""

    TICK = NOW + 11 * MINUTE  # rule rr: a 10-minute SLA

    def stores(self):
        return [("MemoryStore", racing_store(lr.MemoryStore)),
                ("route_csv.SqliteStore", racing_store(route_csv_store_class()))]

    def open_total(self, store):
        return sum(store.open_count(rep) for rep in ("alice", "bob", "carol"))

    def start(self, cls, race):
        store = cls()
        notified = []
        r = make_router(store, notify=notified.append)
        self.assertEqual(r.route("K", {"kind": "rr"}).rep, "alice")
        store.race = race
        return store, r, notified

    def test_move_without_a_race(self):
        for name, cls in self.stores():
            with self.subTest(store=name):
                store, r, notified = self.start(cls, None)
                stats = r.tick(self.TICK)
                self.assertEqual((stats["due"], stats["reassigned"], stats["raced"]), (1, 1, 0))
                self.assertEqual(store.find_claim("lead:K"), "bob")
                self.assertEqual(store.seen, [("lead:K", False), ("lead:K", True)])
                self.assertEqual([(a.rep, a.previous) for a in notified], [("alice", None), ("bob", "alice")])
                self.assertEqual((store.open_count("alice"), store.open_count("bob")), (0, 1))

    def test_close_between_listing_and_move(self):
        for name, cls in self.stores():
            with self.subTest(store=name):
                store, r, notified = self.start(cls, "close")
                stats = r.tick(self.TICK)
                self.assertEqual((stats["due"], stats["reassigned"], stats["raced"]), (1, 0, 1))
                self.assertEqual(store.seen, [("lead:K", False), ("lead:K", True)])
                # the lead stays closed: no claim, no open lead, no notification of a move
                self.assertIsNone(store.find_claim("lead:K"))
                self.assertEqual(self.open_total(store), 0)
                self.assertEqual(len(notified), 1)
                self.assertEqual(store.list_due(NOW + 10 ** 9), [])

    def test_acknowledgement_between_listing_and_move(self):
        for name, cls in self.stores():
            with self.subTest(store=name):
                store, r, notified = self.start(cls, "acknowledge")
                stats = r.tick(self.TICK)
                self.assertEqual((stats["due"], stats["reassigned"], stats["raced"]), (1, 0, 1))
                # alice keeps the lead she followed up, and it is no longer due
                self.assertEqual(store.find_claim("lead:K"), "alice")
                self.assertEqual((store.open_count("alice"), store.open_count("bob")), (1, 0))
                self.assertEqual(len(notified), 1)
                self.assertEqual(store.list_due(NOW + 10 ** 9), [])
                self.assertEqual(r.tick(NOW + 10 ** 9)["due"], 0)

    def test_memory_store_follow_up_directly(self):
        s = lr.MemoryStore()

        def commit(key, rep, previous=None, follow_up=False, at=None):
            # a tick moves a lead when it is due: 10 minutes after NOW
            at = at if at is not None else NOW + 10 * MINUTE if follow_up else NOW
            a = lr.Assignment(key, key[5:], rep, previous, None, "r", 1, at, 10.0, at + 10 * MINUTE, 5.0,
                              0 if previous is None else 1, False)
            s.commit(lr.Commit(a, None, 0, b"", 0, None, follow_up))

        commit("lead:a", "alice")
        commit("lead:b", "alice")
        # held by previous and unacknowledged: the move goes through
        commit("lead:a", "bob", previous="alice", follow_up=True)
        self.assertEqual(s.find_claim("lead:a"), "bob")
        # acknowledged since: refused with the holder, nothing changed
        s.acknowledge("lead:a", NOW + 1)
        before = (s.claims, s.open_counts, s.commits)
        with self.assertRaises(lr.ExistsError) as cm:
            commit("lead:a", "carol", previous="bob", follow_up=True)
        self.assertEqual(cm.exception.owner, "bob")
        self.assertEqual((s.claims, s.open_counts, s.commits), before)
        # closed since: refused with owner "", the key stays free
        s.close("lead:b")
        before = (s.claims, s.open_counts, s.commits)
        with self.assertRaises(lr.ExistsError) as cm:
            commit("lead:b", "carol", previous="alice", follow_up=True)
        self.assertEqual(cm.exception.owner, "")
        self.assertEqual((s.claims, s.open_counts, s.commits), before)
        self.assertIsNone(s.find_claim("lead:b"))
        # held by someone else than previous: refused as without the flag
        with self.assertRaises(lr.ExistsError) as cm:
            commit("lead:a", "carol", previous="alice", follow_up=True)
        self.assertEqual(cm.exception.owner, "bob")
        # assigned again since it was listed (a new deadline, not passed): refused with the holder
        commit("lead:c", "alice")
        commit("lead:c", "bob", previous="alice", at=NOW + 5 * MINUTE)
        with self.assertRaises(lr.ExistsError) as cm:
            commit("lead:c", "alice", previous="bob", follow_up=True)
        self.assertEqual(cm.exception.owner, "bob")
        commit("lead:c", "carol", previous="bob", follow_up=True, at=NOW + 15 * MINUTE)  # due now
        # the same commits without the flag: as before
        commit("lead:b", "carol", previous="alice")
        commit("lead:a", "carol", previous="bob")
        self.assertEqual((s.find_claim("lead:a"), s.find_claim("lead:b")), ("carol", "carol"))
        self.assertEqual(s.open_counts, {"alice": 0, "bob": 0, "carol": 3})

    def test_flags_read_from_version_2_only(self):
        a = _ffi_assignment()
        for version, flags, follow_up in ((2, lr._ffi.COMMIT_FOLLOW_UP, True), (2, 0, False),
                                          (1, lr._ffi.COMMIT_FOLLOW_UP, False)):
            c = lr._ffi.Commit()
            c.version, c.assignment, c.flags = version, ctypes.pointer(a), flags
            self.assertIs(lr.Commit._from_c(c).follow_up, follow_up)
        self.assertEqual(lr._ffi.COMMIT_VERSION, 2)


def _ffi_assignment():
    a = lr._ffi.Assignment()
    a.version = lr._ffi.ASSIGNMENT_VERSION
    a.key, a.rep_id = b"lead:x", b"alice"
    return a


class Boom(Exception):
    pass


class FailingStore(lr.MemoryStore):
    """Raises Boom from the method named in `fail`."""

    fail = None

    def _maybe(self, name):
        if self.fail == name:
            raise Boom(name)


for _name in ("load_pool", "find_claim", "open_count", "commit", "close", "window", "acknowledge", "list_due"):
    def _wrap(name):
        base = getattr(lr.MemoryStore, name)

        def method(self, *args):
            self._maybe(name)
            return base(self, *args)
        return method
    setattr(FailingStore, _name, _wrap(_name))


class ExceptionsInCallbacks(unittest.TestCase):
    def check(self, call, name):
        with self.assertRaises(Boom) as cm:
            call()
        self.assertEqual(str(cm.exception), name)
        cause = cm.exception.__cause__
        self.assertIsInstance(cause, lr.CallbackError)
        self.assertIn(name.replace("_", " ") if name == "lookup" else name, str(cause))
        self.assertIn("callback failed with -12", str(cause))

    def test_every_store_method(self):
        triggers = {
            "load_pool": lambda r: r.route("X", {"kind": "rr"}),
            "find_claim": lambda r: r.route("X", {"kind": "rr"}),
            "open_count": lambda r: r.route("X", {"kind": "ll"}),
            "commit": lambda r: r.route("X", {"kind": "rr"}),
            "window": lambda r: r.route("X", {"kind": "vb"}),
            "close": lambda r: r.close("K"),
            "acknowledge": lambda r: r.acknowledge("K"),
            "list_due": lambda r: r.tick(NOW + 10 ** 9),
        }
        for name, trigger in triggers.items():
            with self.subTest(method=name):
                store = FailingStore()
                r = make_router(store)
                r.route("K", {"kind": "rr"})
                before = (store.claims, store.open_counts, store.commits)
                store.fail = name
                self.check(lambda: trigger(r), name)
                self.assertEqual((store.claims, store.open_counts, store.commits), before)
                store.fail = None
                self.assertEqual(r.route("X", {"kind": "rr"}).status, "assigned")

    def test_store_list_due_through_router(self):
        store = FailingStore()
        r = make_router(store)
        r.route("K", {"kind": "rr"})
        store.fail = "list_due"
        self.check(lambda: r.list_due(), "list_due")

    def test_notify_failure_keeps_assignment_and_retries(self):
        calls = []
        fail = [True]

        def notify(a):
            calls.append(a.key)
            if fail[0]:
                raise Boom("notify")

        r = make_router(lr.MemoryStore(), notify=notify)
        with self.assertRaises(Boom):
            r.route("L1", {"kind": "rr"})
        with self.assertRaises(Boom):
            r.route("L2", {"kind": "rr"})
        self.assertEqual(r.pending_count(), 2)
        self.assertEqual(r.pending(), [("L1", "alice"), ("L2", "bob")])
        with self.assertRaises(Boom):
            r.retry_notifications()
        self.assertEqual(r.pending_count(), 2)
        fail[0] = False
        self.assertEqual(r.retry_notifications(), 2)
        self.assertEqual(r.pending(), [])
        self.assertEqual(calls, ["lead:L1", "lead:L2"] * 3)
        self.assertEqual(r.route("L1", {"kind": "rr"}).status, "existing")

    def test_discard_pending(self):
        def notify(a):
            raise Boom("notify")

        r = make_router(lr.MemoryStore(), notify=notify)
        for key in ("L1", "L2"):
            with self.assertRaises(Boom):
                r.route(key, {"kind": "rr"})
        self.assertEqual(r.discard_pending(" L1 "), 1)
        self.assertEqual(r.pending(), [("L2", "bob")])
        with self.assertRaises(lr.NotFoundError):
            r.discard_pending("L1")
        with self.assertRaises(TypeError):
            r.discard_pending(None)
        r.set_notify(lambda a: None)
        self.assertEqual(r.retry_notifications(), 1)

    def test_retry_without_notify_raises(self):
        """Notifications left pending with no notify to deliver them are the
        C call's CallbackError, not a quiet 0."""
        def notify(a):
            raise Boom("notify")

        r = make_router(lr.MemoryStore(), notify=notify)
        with self.assertRaises(Boom):
            r.route("L1", {"kind": "rr"})
        r.set_notify(None)
        with self.assertRaises(lr.CallbackError) as cm:
            r.retry_notifications()
        self.assertIn("1 notification still pending", str(cm.exception))
        self.assertEqual(r.pending(), [("L1", "alice")])
        r.set_notify(lambda a: None)
        self.assertEqual(r.retry_notifications(), 1)
        self.assertEqual(r.pending(), [])

    def test_store_open_count_must_be_an_integer(self):
        """An open count that is no integer (a bool, a float, a str) is the
        store's fault, raised from the route, not read as a number."""
        for bad in (True, 2.9, "3"):
            class Odd(lr.MemoryStore):
                def open_count(self, rep_id, _bad=bad):
                    return _bad

            roster = lr.Roster.from_dicts([{"id": "ann", "pools": ["p"], "capacity": 5}], [{"id": "p"}])
            r = lr.Router(lr.Table.parse("rule,kind,out:pool\nr,-,p\n"), roster, store=Odd())
            with self.assertRaises(TypeError, msg=repr(bad)) as cm:
                r.route("L1", {"kind": "x"})
            self.assertIn("open_count must return an integer", str(cm.exception))

        class Count:  # an integer type of another library, as numpy's
            def __init__(self, n):
                self.n = n

            def __index__(self):
                return self.n

        class Indexed(lr.MemoryStore):
            def open_count(self, rep_id):
                return Count(super().open_count(rep_id))

        roster = lr.Roster.from_dicts([{"id": "ann", "pools": ["p"], "capacity": 1}], [{"id": "p"}])
        r = lr.Router(lr.Table.parse("rule,kind,out:pool\nr,-,p\n"), roster, store=Indexed())
        self.assertEqual(r.route("L1", {"kind": "x"}).rep, "ann")
        self.assertEqual(r.route("L2", {"kind": "x"}).status, "unassigned")  # ann at capacity 1

    def test_tick_lookup_must_be_callable(self):
        """A lookup that is not callable is refused before the tick moves or
        counts anything."""
        r = make_router(lr.MemoryStore())
        r.route("L1", {"kind": "rr"})
        before = r.metrics()["sla"]
        with self.assertRaises(TypeError):
            r.tick(NOW + 11 * MINUTE, {"L1": {"kind": "rr"}})
        self.assertEqual(r.metrics()["sla"], before)
        self.assertEqual(r.tick(NOW + 11 * MINUTE)["reassigned"], 1)

    def test_metrics_text_that_grows_meanwhile(self):
        """metrics() reads the whole document however much it grows between
        the C calls that size and fill it."""
        class Growing(lr.MemoryStore):
            calls = 0

            def window(self, rep_id, pool_id, since_ms):
                Growing.calls += 1
                return min(10 ** (Growing.calls // 30), 10**18), 0.0  # more digits at every call

        reps = [{"id": "rep%02d" % i, "pools": ["rr"]} for i in range(30)]
        r = lr.Router(lr.Table.parse(TABLE), lr.Roster.from_dicts(reps, POOLS), store=Growing(), clock=Clock())
        r.route("L1", {"kind": "rr"})
        m = r.metrics()
        self.assertGreater(Growing.calls, 90)  # sized, then filled at least once more
        self.assertEqual(m["routed"], 1)
        self.assertEqual(len(m["load"]), 30)

    def test_clock_that_raises(self):
        """A clock that raises still routes (the C clock cannot fail): the
        exception carries the decision, and a clock that never gave a time
        stands in with the system's, not 1970, so no deadline is due at once."""
        import time as _time

        def clock():
            raise Boom("clock")

        r = make_router(lr.MemoryStore(), clock=clock)
        before = int(_time.time() * 1000)
        with self.assertRaises(Boom) as cm:
            r.route("L1", {"kind": "rr"})
        d = cm.exception.decision
        self.assertEqual((d.status, d.rep), ("assigned", "alice"))
        (a,) = r.list_due()  # every pending assignment
        self.assertEqual((a.key, a.rep), ("lead:L1", "alice"))
        self.assertGreaterEqual(a.at_ms, before)
        self.assertLessEqual(a.at_ms, int(_time.time() * 1000))
        self.assertEqual(r.list_due(before), [])  # its deadline is ahead, not in 1970
        # a clock that gave a time once: that time stands in
        times = [NOW]

        def clock2():
            if not times:
                raise Boom("clock")
            return times.pop()

        r.set_clock(clock2)
        self.assertEqual(r.route("L1", {"kind": "rr"}).status, "existing")
        with self.assertRaises(Boom) as cm:
            r.route("L3", {"kind": "rr"})
        self.assertEqual(cm.exception.decision.rep, "bob")
        self.assertEqual([x.at_ms for x in r.list_due() if x.key == "lead:L3"], [NOW])
        # a notify that raises: the lead is routed, the decision says to whom
        r2 = make_router(lr.MemoryStore(), notify=lambda a: (_ for _ in ()).throw(Boom("notify")))
        with self.assertRaises(Boom) as cm:
            r2.route("L1", {"kind": "rr"})
        self.assertEqual(cm.exception.decision.rep, "alice")
        self.assertEqual(r2.pending(), [("L1", "alice")])
        # the same when the callback raises one of the library's own errors
        r3 = make_router(lr.MemoryStore(), notify=lambda a: (_ for _ in ()).throw(lr.UserError("CRM refused")))
        with self.assertRaises(lr.UserError) as cm:
            r3.route("L1", {"kind": "rr"})
        self.assertEqual(cm.exception.decision.status, "assigned")
        self.assertEqual(cm.exception.decision.rep, "alice")

    def test_availability_and_lookup(self):
        def avail(rep, lead_id, fields, now):
            raise Boom("availability")

        r = make_router(availability=avail)
        self.check(lambda: r.route("L1", {"kind": "rr"}), "availability")
        self.assertEqual(r.unrouted("error"), 1)

        r = make_router()
        r.route("L1", {"kind": "rr"})
        r.route("L2", {"kind": "rr"})

        def lookup(key):
            if key == "L1":
                raise Boom("lookup")
            return None

        # the lead whose lookup raised stays with its rep, still due; the
        # other moves; the exception comes out once the tick is done
        with self.assertRaises(Boom):
            r.tick(NOW + 10 ** 9, lookup=lookup)
        due = {a.key: a.rep for a in r.list_due(NOW + 10 ** 9)}
        self.assertEqual(due, {"lead:L1": "alice"})
        self.assertEqual(r.metrics()["sla"]["failed_moves"], 1)
        # a lookup giving something that is not a lead does the same
        with self.assertRaises(TypeError):
            r.tick(NOW + 10 ** 9, lookup=lambda key: 5)
        self.assertEqual({a.key: a.rep for a in r.list_due(NOW + 10 ** 9)}, {"lead:L1": "alice"})
        self.assertEqual(r.tick(NOW + 10 ** 9, lookup=lambda key: None)["reassigned"], 1)
        self.assertEqual(r.list_due(NOW + 10 ** 9), [])

    def test_metrics_raises_what_its_callbacks_raise(self):
        store = FailingStore()
        r = make_router(store)
        r.route("L1", {"kind": "rr"})
        store.fail = "window"
        with self.assertRaises(Boom):  # not hidden, and not left for a later call
            r.metrics()
        store.fail = None
        self.assertEqual(r.metrics()["load"]["alice"]["24h"], 1)
        self.assertEqual(r.route("L2", {"kind": "rr"}).rep, "bob")

        def clock():
            raise Boom("clock")

        r.set_clock(clock)
        with self.assertRaises(Boom):
            r.metrics()

    def test_exception_not_leaking_into_next_call(self):
        boom = [True]

        def avail(rep, lead_id, fields, now):
            if boom[0]:
                raise Boom("availability")
            return True

        r = make_router(availability=avail)
        with self.assertRaises(Boom):
            r.route("L1", {"kind": "rr"})
        boom[0] = False
        self.assertEqual(r.route("L1", {"kind": "rr"}).rep, "alice")

    def test_bad_store_object(self):
        class Half(lr.Store):
            def load_pool(self, pool_id):
                return b"", 0

        with self.assertRaises(TypeError):
            make_router(Half())

    def test_store_without_window_refuses_caps(self):
        class NoWindow(lr.MemoryStore):
            window = lr.Store.window  # not provided: left out of the vtable

        r = make_router(NoWindow())  # alice has a daily cap
        with self.assertRaises(lr.UnsupportedError):
            r.route("L1", {"kind": "rr"})
        plain = lr.Roster.from_dicts([{"id": "dan", "pools": ["rr"]}], [{"id": "rr"}])
        r = lr.Router(lr.Table.parse(TABLE), plain, store=NoWindow())
        self.assertEqual(r.route("L1", {"kind": "rr"}).rep, "dan")


class Threads(unittest.TestCase):
    def test_threads_share_a_python_store(self):
        store = lr.MemoryStore()
        notified = []
        lock = threading.Lock()

        def notify(a):
            with lock:
                notified.append(a.key)

        r = make_router(store, notify=notify, max_retries=100000)
        results = {}
        errors = []
        keys = ["K%03d" % i for i in range(150)]

        def worker(n):
            try:
                # every thread routes every key, each in its own order: each key is decided many times at once
                order = keys[n * 25:] + keys[:n * 25]
                if n % 2:
                    order.reverse()
                for key in order:
                    d = r.route(key, {"kind": "rr" if int(key[1:]) % 2 else "ll"})
                    with lock:
                        results.setdefault(key, []).append((d.status, d.rep))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        assigned = []
        for key, outs in results.items():
            self.assertEqual(len(outs), 6)
            firsts = [o for o in outs if o[0] == "assigned"]
            others = [o for o in outs if o[0] != "assigned"]
            if firsts:
                self.assertEqual(len(firsts), 1, (key, outs))  # never assigned twice
                assigned.append((key, firsts[0][1]))
                self.assertTrue(all(o == ("existing", firsts[0][1]) for o in others), (key, outs))
            else:
                self.assertTrue(all(o[0] in ("queued", "unassigned") for o in outs), (key, outs))
        self.assertEqual(sorted(notified), sorted("lead:" + k for k, _ in assigned))
        self.assertEqual(len(notified), len(set(notified)))
        self.assertEqual(r.metrics()["routed"], len(assigned))
        self.assertEqual(sum(store.open_counts.values()), len(assigned))
        self.assertEqual({k: v for k, v in store.claims.items() if k.startswith("lead:")},
                         {"lead:" + k: rep for k, rep in assigned})
        by_rep = {}
        for _, rep in assigned:
            by_rep[rep] = by_rep.get(rep, 0) + 1
        self.assertEqual(by_rep, {rep: r.rep_assigned(rep) for rep in by_rep})
        # capacity held under contention: alice 4, bob 3 open leads at most
        self.assertLessEqual(store.open_counts.get("alice", 0) + store.open_counts.get("bob", 0),
                             len(assigned))
        ll_keys = [k for k in keys if int(k[1:]) % 2 == 0]
        ll_assigned = [rep for k, rep in assigned if k in ll_keys]
        self.assertLessEqual(ll_assigned.count("bob"), 3)
        # round robin stays exact: rr leads alternate among alice, bob, carol (by capacity only alice/bob
        # can fill up, and the ll leads already filled them)
        self.assertGreater(len(assigned), 70)


class GarbageCollection(unittest.TestCase):
    def test_callbacks_live_while_c_holds_them(self):
        seen = []

        class Avail:
            def __call__(self, rep, lead_id, fields, now):
                return rep != "alice"

        def make():
            store = lr.MemoryStore()
            notify = lambda a: seen.append(a.rep)  # noqa: E731
            avail = Avail()
            clock = Clock()
            refs = [weakref.ref(x) for x in (store, notify, avail, clock)]
            return lr.Router(lr.Table.parse(TABLE), lr.Roster.from_dicts(REPS, POOLS), store=store,
                             notify=notify, availability=avail, clock=clock), refs

        r, refs = make()
        gc.collect()
        self.assertTrue(all(ref() is not None for ref in refs))
        self.assertEqual(r.route("L1", {"kind": "rr"}).rep, "bob")
        gc.collect()
        self.assertEqual(r.route("L2", {"kind": "rr"}).rep, "carol")
        self.assertEqual(seen, ["bob", "carol"])
        self.assertEqual(refs[0]().commits, 2)

        fork = r.fork()
        del r
        gc.collect()
        self.assertTrue(all(ref() is not None for ref in refs))  # the fork still reads through them
        self.assertEqual(fork.route("L3", {"kind": "rr"}).rep, "bob")
        self.assertEqual(refs[0]().commits, 2)  # a fork writes only to its own memory
        del fork
        gc.collect()
        self.assertTrue(all(ref() is None for ref in refs))  # and nothing is kept once C is done

    def test_fork_keeps_the_store_it_reads_through(self):
        # the fork's C store reads through to the parent's store of fork time,
        # whatever either router sets later
        for parent_next in (None, lr.MemoryStore()):
            with self.subTest(parent_next=parent_next):
                store = lr.MemoryStore()
                ref = weakref.ref(store)
                r = make_router(store)
                r.route("A", {"kind": "rr"})
                f = r.fork()
                del store
                r.set_store(parent_next)
                f.set_store(None)
                gc.collect()
                self.assertIsNotNone(ref())
                d = f.route("A", {"kind": "rr"})
                self.assertEqual((d.status, d.rep), ("existing", "alice"))
                self.assertEqual(f.route("C", {"kind": "rr"}).status, "assigned")
                f.free()
                del f
                gc.collect()
                self.assertIsNone(ref())

    def test_replaced_callback_is_released(self):
        r = make_router()
        fn = lambda a: None  # noqa: E731
        ref = weakref.ref(fn)
        r.set_notify(fn)
        del fn
        gc.collect()
        self.assertIsNotNone(ref())
        r.set_notify(None)
        gc.collect()
        self.assertIsNone(ref())


class FreedWhileInUse(unittest.TestCase):
    """free() or close() while a C call uses the object (from a callback of
    that call, or from another thread) lets go of it; C frees it once the
    call returns. The library's free functions are wrapped to see when."""

    def setUp(self):
        self.events = []
        self.saved = {}
        for name in ("leadroute_router_free", "leadroute_leads_free"):
            real = getattr(lr._ffi.lib, name)
            self.saved[name] = real

            def wrapper(handle, real=real, name=name):
                self.events.append(name)
                return real(handle)
            setattr(lr._ffi.lib, name, wrapper)

    def tearDown(self):
        for name, real in self.saved.items():
            setattr(lr._ffi.lib, name, real)

    def test_router_freed_by_its_own_callback(self):
        r = make_router()

        def notify(a):
            r.free()
            self.events.append("notify returns")
        r.set_notify(notify)
        d = r.route("L1", {"kind": "rr"})
        self.events.append("route returned")
        self.assertEqual((d.status, d.rep), ("assigned", "alice"))
        # freed as route() returns, not inside the callback
        self.assertEqual(self.events, ["notify returns", "leadroute_router_free", "route returned"])
        with self.assertRaisesRegex(ValueError, "router is freed"):
            r.route("L2", {"kind": "rr"})

    def test_leads_and_roster_let_go_during_route(self):
        roster = lr.Roster.from_dicts(REPS, POOLS)
        leads = lr.Leads.parse("id,kind\nL1,rr\n")
        r = lr.Router(lr.Table.parse(TABLE), roster, clock=Clock())
        lead = leads[0]
        roster_ref = weakref.ref(roster)

        def away(rep, lead_id, fields, now):
            if rep == "alice":
                leads.free()
                roster.close()
                gc.collect()
                self.events.append("callback returns")
                return "in a meeting"
            return True
        r.set_availability(away)
        d = r.route(lead)
        self.events.append("route returned")
        self.assertEqual((d.status, d.rep), ("assigned", "bob"))
        # the router holds a reference of its own to the roster: only the
        # leads go, and only after the call that was reading the lead
        self.assertEqual(self.events, ["callback returns", "leadroute_leads_free", "route returned"])
        self.assertIsNotNone(roster_ref())
        with self.assertRaisesRegex(ValueError, "leads are freed"):
            leads[0]
        with self.assertRaisesRegex(ValueError, "leads are freed"):
            r.route(lead)
        self.assertEqual(r.roster.reps, ["alice", "bob", "carol"])

    def test_router_freed_by_another_thread(self):
        r = make_router()
        inside, go_on = threading.Event(), threading.Event()

        def slow(rep, lead_id, fields, now):
            inside.set()
            self.assertTrue(go_on.wait(30))
            return True
        r.set_availability(slow)
        got = []
        t = threading.Thread(target=lambda: got.append(r.route("L1", {"kind": "rr"})))
        t.start()
        self.assertTrue(inside.wait(30))
        r.free()
        self.events.append("freed")
        go_on.set()
        t.join(30)
        self.assertEqual(got[0].rep, "alice")
        self.assertEqual(self.events, ["freed", "leadroute_router_free"])

    def test_fork_freed_with_its_parent_in_use(self):
        r = make_router()
        f = r.fork()
        inside = []

        def notify(a):
            r.free()  # frees the fork first, then the parent, once this call returns
            inside.append(list(self.events))
        f.set_notify(notify)
        self.assertEqual(f.route("L1", {"kind": "rr"}).status, "assigned")
        self.assertEqual(inside, [[]])
        self.assertEqual(self.events, ["leadroute_router_free", "leadroute_router_free"])
        with self.assertRaises(ValueError):
            f.route("L2", {"kind": "rr"})


class MoreApi(unittest.TestCase):
    def test_leads_file(self):
        t = lr.Table.parse("rule,region,products:set,out:pool\nr,EMEA,crm,rr\n")
        text = "id,region,products\nA1,EMEA,crm;ads\nA2,EMEA\nA1,NA,crm\nA3,NA,\n"
        leads = lr.Leads.parse(text, "in.csv", table=t)
        self.assertEqual([x.id for x in leads], ["A1", "A3"])
        self.assertEqual(leads[0].fields, {"id": "A1", "region": "EMEA", "products": ["crm", "ads"]})
        self.assertEqual(leads[1].line, 5)
        self.assertEqual([s.line for s in leads.skipped], [3, 4])
        self.assertIn("in.csv:3:", leads.skipped[0].message)
        self.assertEqual(t.evaluate(leads[0])[0].rule, "r")
        r = make_router()
        r.set_table(t)
        self.assertEqual(r.route(leads[0]).pool, "rr")
        with self.assertRaises(lr.ParseError):
            lr.Leads.parse("")
        with self.assertRaises(IndexError):
            leads[2]

    def test_whole_texts_keep_nul_and_surrogates_for_the_parser(self):
        """A NUL or a lone surrogate in the text of a file is the parser's to
        report at its line and column: a leads file skips only that row."""
        for bad in ("x\0y", "\udcff", "\ud800"):
            leads = lr.Leads.parse("id,a\nL1,%s\nL2,z\n" % bad, "in.csv")
            self.assertEqual([x.id for x in leads], ["L2"])
            self.assertEqual([s.line for s in leads.skipped], [2])
            self.assertIn("in.csv:2:", leads.skipped[0].message)
        with self.assertRaises(lr.ParseError) as cm:
            lr.Table.parse("rule,a,out:x\nr1,x\0,1\n", "t.csv")
        self.assertIn("t.csv:2:5: NUL byte", str(cm.exception))
        t = lr.Table.parse("rule,a,out:x\nr1,-,1\n")
        for bad, what in (("x\udcffy", "lone surrogate"), ("x\0y", "NUL")):
            for fields, named in (({"a": bad}, "field 'a': "), ({"a": ["ok", bad]}, "field 'a': "),
                                  ({bad: "x"}, "field name %r: " % bad)):
                with self.assertRaises(ValueError) as cm:
                    t.evaluate(fields)
                self.assertIn(named, str(cm.exception))
                self.assertIn(what, str(cm.exception))

    def test_roster_dicts_types_strict(self):
        """Flags are bools and numbers are numbers: "no" is no false value."""
        for rep, pool in (({"active": "no"}, {}), ({"weight": "3"}, {}), ({}, {"owner_first": "no"}),
                          ({}, {"sla_minutes": "30"}), ({"active": 2}, {}), ({"weight": True}, {}),
                          ({}, {"tiers": [("50", 1)]}), ({"cap_day": False}, {}), ({"capacity": True}, {}),
                          ({"tier": True}, {}), ({}, {"max_hops": True}), ({}, {"cap_week": False})):
            with self.assertRaises(TypeError, msg=(rep, pool)):
                lr.Roster.from_dicts([dict({"id": "ann", "pools": ["p"]}, **rep)], [dict({"id": "p"}, **pool)])
        reps, pools = lr.Roster.from_dicts([{"id": "ann", "pools": ["p"], "active": 0, "weight": 2}],
                                           [{"id": "p", "owner_first": True, "sla_minutes": 30.5}]).to_dicts()
        self.assertEqual((reps[0]["active"], reps[0]["weight"], pools[0]["owner_first"], pools[0]["sla_minutes"]),
                         (False, 2.0, True, 30.5))

    def test_builder_lint_and_types(self):
        b = lr.TableBuilder()
        b.set("hit_policy", "unique").add_input("region").add_input("n", "number").add_output("team")
        b.add_rule(["EMEA", "-"], ["a"], id="one").add_rule(["-", ">= 5"], ["b"], id="two")
        t = b.build()
        self.assertEqual(t.hit_policy, "unique")
        self.assertEqual(t.input_types, {"region": "string", "n": "number"})
        self.assertEqual(t.output_types, {"team": "string"})
        self.assertEqual(t.output_index("team"), 0)
        with self.assertRaises(lr.NotFoundError):
            t.output_index("nope")
        kinds = {d.kind for d in t.lint()}
        self.assertIn("overlap", kinds)
        overlap = [d for d in t.diagnostics if d.kind == "overlap"][0]
        self.assertEqual({overlap.rule, overlap.other_rule}, {"one", "two"})
        self.assertFalse(overlap.notice)
        # past 1000 findings, a last notice counts the rest
        many = lr.Table.parse("rule,a,out:x\nall,-,1\n" + "".join(f"r{i},v,2\n" for i in range(1002)))
        found = many.diagnostics
        self.assertEqual(len(found), 1001)
        self.assertEqual({(d.kind, d.notice) for d in found[:-1]}, {("shadowed", False)})
        self.assertEqual((found[-1].kind, found[-1].notice), ("truncated", True))
        with self.assertRaises(lr.HitPolicyError) as cm:
            t.evaluate({"region": "EMEA", "n": 9})
        self.assertEqual([m.rule for m in cm.exception.matches], ["one", "two"])
        with self.assertRaises(lr.ParseError):
            b.add_rule([">> 3", "-"], ["c"])
        self.assertEqual(lr.Table.parse("rule,a,out:x\nr,-,1\n", lint=False).diagnostics, [])

    def test_evaluator_reuse(self):
        t1 = lr.Table.parse("rule,a,out:x\nr1,1,one\n")
        t2 = lr.Table.parse("#! hit_policy: collect\nrule,a,out:x\nq1,1,uno\nq2,-,dos\nq3,-,tres\n")
        ev = lr.Evaluator(t1)
        self.assertEqual(ev.evaluate({"a": "1"})[0].outputs, {"x": "one"})
        got = ev.evaluate({"a": "1"}, table=t2)
        self.assertEqual([m.rule for m in got], ["q1", "q2", "q3"])
        # passing a table is for that call only: the default stays t1
        self.assertEqual([m.rule for m in ev.evaluate({"a": "1"})], ["r1"])
        self.assertEqual([m.rule for m in ev.evaluate({"a": "1"}, table=t2)], ["q1", "q2", "q3"])
        t2.close()  # the evaluator holds a reference of its own
        self.assertEqual([m.rule for m in ev.evaluate({"a": "1"})], ["r1"])
        self.assertEqual(ev.evaluate({"a": "2"}), [])

    def test_numbers_out_of_range(self):
        """An int no double holds is a ValueError naming the field, as other
        bad values are; integers a store lists out of their C range too."""
        table = lr.Table.parse("rule,n:number,out:o\nr,>1,x\n")
        with self.assertRaises(ValueError) as cm:
            table.evaluate({"n": 10 ** 400})
        self.assertIn("'n'", str(cm.exception))
        with self.assertRaises(ValueError):
            lr.Roster.from_dicts([{"id": "a", "pools": ["p"], "weight": 10 ** 400}], [{"id": "p"}])

        class FarStore(lr.MemoryStore):
            def list_due(self, now_ms):
                for a in super().list_due(now_ms):
                    yield dataclasses.replace(a, deadline_ms=2 ** 63)

        r = make_router(FarStore())
        r.route("L1", {"kind": "rr"})
        with self.assertRaises(ValueError) as cm:
            r.list_due()
        self.assertIn("deadline_ms", str(cm.exception))

    def test_validate_and_utf8(self):
        lr.validate_lead({"a": "x"}, "L1")
        with self.assertRaises(lr.LeadError):
            lr.validate_lead({"a": float("inf")})
        self.assertTrue(lr.utf8_valid("Zürich".encode()))
        self.assertFalse(lr.utf8_valid(b"\xc3("))
        self.assertEqual(lr.strerror(-11), lr._ffi.lib.leadroute_strerror(-11).decode())

    def test_getters(self):
        roster = lr.Roster.from_dicts([{"id": "alice", "pools": ["wt"], "weight": 2}, {"id": "bob", "pools": ["wt"]}],
                                      [{"id": "wt", "strategy": "weighted"}])
        r = lr.Router(lr.Table.parse(TABLE), roster, store=lr.MemoryStore(), clock=Clock())
        for i in range(6):
            r.route("L%d" % i, {"kind": "wt", "captured_at": NOW - 2000})
        r.route("N", {"kind": "nothing"})
        self.assertEqual(r.rule_hits("wt"), 6)
        self.assertEqual(r.rule_hits()["wt"], 6)
        self.assertEqual(r.rule_hits(2), 6)
        self.assertEqual(r.unrouted(), {"no_rule": 1, "no_target": 0, "empty": 0, "error": 0})
        self.assertEqual(r.rep_assigned("alice"), 4)
        self.assertEqual(r.rep_assigned("bob"), 2)
        fair = r.pool_fairness("wt")  # judged per unit of weight: 4/2 and 2/1
        self.assertEqual(fair.spread, 0.0)
        self.assertAlmostEqual(fair.jain, 1.0)
        with self.assertRaises(lr.NotFoundError):
            r.pool_fairness("nope")
        lat = r.latency()
        self.assertEqual(lat.count, 6)
        self.assertAlmostEqual(lat.mean_ms, 2000.0)
        self.assertEqual(r.latency(rep="alice").count, 4)
        r.acknowledge("L0")
        self.assertEqual(r.latency(which="assign_to_ack").count, 1)
        self.assertEqual(len(r.list_due()), 5)
        self.assertEqual(r.list_due(NOW), [])
        d = r.route("L9", {"kind": "wt"}, trace=True, dry_run=True)
        self.assertTrue(d.trace()["dry_run"])

    @unittest.skipUnless(lr._ffi.HAS_ROSTER_ENTRIES, "library without leadroute_roster_rep()")
    def test_roster_entries_round_trip(self):
        ro = lr.Roster.from_dicts(REPS, POOLS)
        alice = ro.rep("alice")
        self.assertEqual((alice["weight"], alice["capacity"], alice["cap_day"], alice["cap_week"]), (3.0, 4, 2, None))
        self.assertEqual(ro.pool("ll")["on_empty"], "queue")
        self.assertEqual(ro.pool("vb")["value_field"], "amount")
        reps, pools = ro.to_dicts()
        self.assertEqual(lr.Roster.from_dicts(reps, pools).to_dicts(), (reps, pools))
        with self.assertRaises(KeyError):
            ro.rep("nobody")

    def test_version_check_and_library_lookup(self):
        lr._ffi.check_version(lr.version_number())
        with self.assertRaises(ImportError):
            lr._ffi.check_version(10100)
        with self.assertRaises(ImportError):
            lr._ffi.check_version(0)
        env = dict(os.environ, LEADROUTE_LIBRARY="/nonexistent/libleadroute.so.1", PYTHONDONTWRITEBYTECODE="1")
        p = subprocess.run([sys.executable, "-c", "import leadroute"], env=env, capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("LEADROUTE_LIBRARY", p.stderr)


class StoreAnswers(unittest.TestCase):
    """What a Python store answers, and how C and the caller see it."""

    def test_find_claim_may_answer_not_found(self):
        class Store(lr.MemoryStore):
            def find_claim(self, key):
                rep = super().find_claim(key)
                if rep is None:
                    raise lr.NotFoundError("no claim")  # the contract's answer, as the code says
                return rep

        r = make_router(Store())
        self.assertEqual(r.route("L1", {"kind": "rr"}).status, "assigned")
        self.assertEqual(r.route("L1", {"kind": "rr"}).status, "existing")

    def test_close_and_acknowledge_answers(self):
        r = make_router(lr.MemoryStore())
        r.route("L1", {"kind": "rr"})
        r.acknowledge("L1")
        r.acknowledge("L1")  # a second acknowledgement: the store's ExistsError is an answer
        for call in (lambda: r.close("nope"), lambda: r.acknowledge("nope")):
            with self.assertRaises(lr.NotFoundError) as cm:
                call()
            # the router's own error, not the store's NotFoundError chained to it
            self.assertIsNone(cm.exception.__cause__)
            self.assertIn("no lead is claimed under key 'nope'", str(cm.exception))

    def test_other_store_errors_fail_the_call(self):
        for exc in (lr.LeadrouteError("db down"), lr.LimitError("quota")):
            with self.subTest(type(exc).__name__):
                class Store(lr.MemoryStore):
                    def commit(self, commit):
                        raise exc

                store = Store()
                r = make_router(store)
                with self.assertRaises(lr.LeadrouteError) as cm:
                    r.route("L1", {"kind": "rr"})
                self.assertIs(cm.exception, exc)
                self.assertIsInstance(cm.exception.__cause__, lr.CallbackError)
                self.assertEqual(cm.exception.decision.status, "unrouted")
                self.assertEqual((r.rep_assigned("alice"), r.metrics()["routed"], store.claims), (0, 0, {}))

    def test_open_count_out_of_range_is_clamped(self):
        for n, verdict in ((-1, "chosen"), (2**32 + 1, "at capacity")):
            with self.subTest(n):
                class Store(lr.MemoryStore):
                    def open_count(self, rep_id):
                        return n if rep_id == "alice" else 0

                d = make_router(Store()).route("L1", {"kind": "ll"}, trace=True)
                self.assertEqual(d.candidates[0].rep, "alice")
                self.assertEqual(d.candidates[0].verdict, verdict)

    def test_acknowledge_answer(self):
        clock = Clock()
        r = make_router(lr.MemoryStore(), clock=clock)
        r.route("L1", {"kind": "rr"})
        clock.now += 2 * MINUTE
        r.acknowledge("L1")
        # the rep and pool the store gave back are what the latency is counted for
        self.assertEqual(r.latency(rep="alice", which="assign_to_ack").count, 1)
        self.assertEqual(r.latency(pool="rr", which="assign_to_ack").count, 1)

        class Store(lr.MemoryStore):
            def acknowledge(self, key, at_ms):
                super().acknowledge(key, at_ms)
                return 2**63, "alice", "rr"  # past a C int64

        r = make_router(Store())
        r.route("L1", {"kind": "rr"})
        with self.assertRaisesRegex(ValueError, "acknowledge's assigned time must fit"):
            r.acknowledge("L1")

    def test_history_hops_and_escalation_through_list_due(self):
        reps = [{"id": x, "pools": ["p"]} for x in ("alice", "bob", "carol")] + [{"id": "boss"}]
        pools = [{"id": "p", "sla_minutes": 5, "max_hops": 2, "escalation_owner": "boss"}]
        expected = [("bob", ("alice",), False, 1), ("carol", ("alice", "bob"), False, 2),
                    ("boss", ("alice", "bob", "carol"), True, 3)]
        for store in (None, lr.MemoryStore()):
            with self.subTest(store=type(store).__name__):
                clock = Clock()
                r = lr.Router(lr.Table.parse("rule,kind,out:pool\nr,rr,p\n"), lr.Roster.from_dicts(reps, pools),
                              clock=clock, store=store)
                self.assertEqual(r.route("L1", {"kind": "rr"}).rep, "alice")
                for want in expected:
                    clock.now += 60 * MINUTE
                    r.tick(clock.now)
                    self.assertEqual([(a.rep, a.history, a.escalated, a.hops) for a in r.list_due()], [want])

    def test_list_due_gives_acknowledged_ms_as_listed(self):
        class Store(lr.MemoryStore):
            ack = 5

            def list_due(self, now_ms):
                return [lr.Assignment("lead:X", "X", "alice", None, "rr", "rr", 1, NOW, 5.0, NOW + 1, 0.0, 0,
                                      False, (), self.ack)]

        store = Store()
        r = make_router(store)
        self.assertEqual([a.acknowledged_ms for a in r.list_due()], [5])
        store.ack = 2**63
        with self.assertRaisesRegex(ValueError, "acknowledged_ms must fit"):
            r.list_due()

    def test_pool_state_that_fills_the_buffer_exactly(self):
        """A state as long as the buffer C offers is copied whole: here another
        host commits, between two moves of one tick, a state of exactly the
        size of the buffer the first move grew (143 bytes read: the line b, c,
        d, a; 143 + 71 + 64 = 278)."""
        b, d = "b" * 67, "d" * 67
        # the other host's line: a next (this tick's own would give c), padded
        # to 278 bytes with an id no member has, which drops out of the line
        other = "rr2\na\n" + d + "\nc\n" + b
        other += "\n" + "z" * (278 - len(other) - 1)
        self.assertEqual(len(other), 278)

        class SharedStore(lr.MemoryStore):
            other = None  # what another host commits right before the next read

            def load_pool(self, pool_id):
                if self.other is not None:
                    with self._lock:
                        version = self._pools.get(pool_id, (0, b""))[0]
                        self._pools[pool_id] = (version + 1, self.other)
                    self.other = None
                return super().load_pool(pool_id)

        clock = Clock()
        store = SharedStore()
        r = lr.Router(lr.Table.parse("rule,kind,out:pool\nr,-,p\n"),
                      lr.Roster.from_dicts([{"id": x, "pools": ["p"]} for x in ("a", b, "c", d)],
                                           [{"id": "p", "sla_minutes": 5}]),
                      clock=clock, store=store)
        self.assertEqual([r.route("L%d" % i, {"kind": "x"}).rep for i in range(1, 6)], ["a", b, "c", d, "a"])
        clock.now += 60 * MINUTE

        def lookup(key):
            if key == "L2":
                store.other = other.encode()
            return None

        self.assertEqual(r.tick(clock.now, lookup)["reassigned"], 5)
        moved = {a.lead_id: a.rep for a in r.list_due()}
        self.assertEqual(moved["L1"], b)  # first in line, and not a, its holder
        self.assertEqual(moved["L2"], "a")  # first in the other host's line, not in this tick's (c)

    def test_memory_store_account_claim_is_no_open_lead(self):
        # an account claim moved by a commit gives back no open lead of its holder: it never counted one
        s = lr.MemoryStore()
        a = lr.Assignment("lead:a", "a", "alice", None, "p", "r", 1, NOW, 10.0, NOW + MINUTE, 5.0, 0, False)
        s.commit(lr.Commit(a, None, 0, b"", 0, "account:x.com"))
        b = lr.Assignment("account:x.com", None, "bob", "alice", "p", "r", 1, NOW, 10.0, NOW + MINUTE, 5.0, 0, False)
        s.commit(lr.Commit(b, None, 0, b"", 0, None))
        self.assertEqual(s.open_counts, {"alice": 1, "bob": 1})

    def test_router_store_is_the_store(self):
        store = lr.MemoryStore()
        r = make_router(store)
        self.assertIs(r.store, store)
        r.set_store(None)
        self.assertIsNone(r.store)


class MoreCallbackExceptions(unittest.TestCase):
    def test_decision_attached_when_routing_failed(self):
        store = FailingStore()
        store.fail = "commit"
        r = make_router(store)
        with self.assertRaises(Boom) as cm:
            r.route("L1", {"kind": "rr"})
        self.assertIsInstance(cm.exception.__cause__, lr.CallbackError)
        self.assertEqual(cm.exception.decision.status, "unrouted")

    @staticmethod
    def two_overdue():
        """A router holding leads A and B, and its clock set past their deadlines."""
        clock = Clock()
        r = make_router(lr.MemoryStore(), clock=clock)
        r.route("A", {"kind": "rr"})
        r.route("B", {"kind": "rr"})
        clock.now += 60 * MINUTE
        return r, clock

    def test_first_exception_of_a_call_is_raised(self):
        r, clock = self.two_overdue()
        calls = []

        def lookup(key):
            calls.append(key)
            raise Boom(key)

        with self.assertRaises(Boom) as cm:
            r.tick(clock.now, lookup)
        self.assertEqual(len(calls), 2)
        self.assertEqual(str(cm.exception), calls[0])

    def test_nested_router_call_keeps_the_outer_exception(self):
        r, clock = self.two_overdue()
        other = make_router()
        calls = []

        def lookup(key):
            calls.append(key)
            if len(calls) == 1:
                raise Boom(key)
            other.route("N", {"kind": "rr"})  # a guarded call of its own, inside the tick
            return None

        with self.assertRaises(Boom) as cm:
            r.tick(clock.now, lookup)
        self.assertEqual(str(cm.exception), calls[0])
        self.assertEqual(other.rep_assigned("alice"), 1)

    def test_exception_that_refuses_attributes(self):
        @dataclasses.dataclass(frozen=True)
        class Frozen(Exception):
            what: str

        def notify(a):
            raise Frozen("notify")

        r = make_router(lr.MemoryStore(), notify=notify)
        with self.assertRaises(Frozen):
            r.route("L1", {"kind": "rr"})
        self.assertEqual(r.pending_count(), 1)

    def test_pending_with_a_long_key(self):
        def notify(a):
            raise Boom("notify")

        r = make_router(lr.MemoryStore(), notify=notify)
        key = "K" * 200
        with self.assertRaises(Boom):
            r.route(key, {"kind": "rr"})
        self.assertEqual(r.pending(), [(key, "alice")])

    def test_free_releases_callbacks(self):
        class Notify:
            def __call__(self, a):
                pass

        fn = Notify()
        ref = weakref.ref(fn)
        r = make_router(notify=fn)
        del fn
        r.free()
        gc.collect()
        self.assertIsNone(ref())
        with self.assertRaises(ValueError):
            r.route("L1", {"kind": "rr"})

    def test_lookup_lead_lives_through_its_move(self):
        # The C lead built from what lookup returned must live until the move
        # is made: C reads it after lookup returns (here: hands it to the
        # availability callback, which collects garbage first). Under
        # PYTHONMALLOC=debug freed memory is overwritten, so a lead freed too
        # early shows as garbage or a crash, not as the fields it had.
        script = """if 1:
            import gc
            import leadroute as lr
            reps = [{"id": "alice", "pools": ["p"]}, {"id": "bob", "pools": ["p"]}]
            now = [%d]
            seen = []

            def available(rep, lead_id, fields, now_ms):
                gc.collect()
                seen.append((rep, lead_id, fields))
                return True

            r = lr.Router(lr.Table.parse("rule,kind,out:pool\\nr,-,p\\n"),
                          lr.Roster.from_dicts(reps, [{"id": "p", "sla_minutes": 5}]),
                          clock=lambda: now[0], availability=available)
            assert r.route("L1", {"kind": "x"}).rep == "alice"
            now[0] += 3600000
            fields = {"kind": "x", "lang": "de", "tags": ["t%%d" %% i for i in range(8)]}
            stats = r.tick(now[0], lambda key: dict(fields))
            assert stats["reassigned"] == 1, stats
            assert seen[-1] == ("bob", "L1", fields), seen[-1]
            print("ok")
        """ % NOW
        env = dict(os.environ, PYTHONMALLOC="debug", PYTHONDONTWRITEBYTECODE="1",
                   PYTHONPATH=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
        p = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual((p.returncode, p.stdout.strip()), (0, "ok"), p.stderr)

    def test_copy_out_stays_within_the_buffer(self):
        from leadroute._values import copy_out
        for text, cap, want in (("abcd", 4, b"abc"), ("a\u00e9", 3, b"a"), ("ab", 4, b"ab")):
            with self.subTest(text=text, cap=cap):
                buf = ctypes.create_string_buffer(b"\xaa" * 8)
                copy_out(ctypes.addressof(buf), cap, text, "text")
                self.assertEqual(buf.value, want)
                self.assertEqual(buf.raw[cap:], b"\xaa" * (8 - cap) + b"\0")  # nothing written past cap


if __name__ == "__main__":
    unittest.main()
