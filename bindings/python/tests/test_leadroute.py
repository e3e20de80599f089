"""Tests of the leadroute ctypes bindings against the built library."""

import copy
import dataclasses
import gc
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import leadroute as lr  # noqa: E402

NOW = 1772357400125

TABLE = """#! name: py test
#! version: 7
rule,kind,score:number,out:pool,out:queue,out:status,out:sla_minutes:number,out:tags
hot,a,>= 90,p,,hot,5,vip
plain,a,-,p,,,10,
queued,q,-,,triage,,,
"""


def two_rep_roster(**pool):
    reps = [{"id": "alice", "pools": ["p"]}, {"id": "bob", "pools": ["p"]}]
    return lr.Roster.from_dicts(reps, [dict(id="p", **pool)])


class TableTests(unittest.TestCase):
    def test_parse_and_evaluate(self):
        t = lr.Table.parse(TABLE, "t.csv")
        self.assertEqual(t.name, "py test")
        self.assertEqual(t.version, "7")
        self.assertEqual(t.rules, ["hot", "plain", "queued"])
        self.assertEqual(t.inputs, ["kind", "score"])
        self.assertEqual(t.outputs, ["pool", "queue", "status", "sla_minutes", "tags"])
        self.assertIsInstance(t.hash, int)
        self.assertEqual(t.hash, lr.Table.parse(TABLE + "# only a comment\n").hash)
        m = t.evaluate({"kind": "a", "score": 95})
        self.assertEqual([x.rule for x in m], ["hot"])
        self.assertEqual(m[0].outputs, {"pool": "p", "queue": None, "status": "hot", "sla_minutes": 5.0,
                                        "tags": "vip"})
        self.assertEqual([x.rule for x in t.evaluate({"kind": "a", "score": 10})], ["plain"])
        self.assertEqual(t.evaluate({"kind": "zzz"}), [])
        # each rule's outputs, read without a lead: what a hit returns
        self.assertEqual(t.rule_outputs["hot"], m[0].outputs)
        self.assertEqual(t.rule_outputs["queued"], {"pool": None, "queue": "triage", "status": None,
                                                    "sla_minutes": None, "tags": None})
        self.assertEqual(sorted(t.rule_outputs), ["hot", "plain", "queued"])

    def test_value_kinds(self):
        t = lr.Table.parse("rule,ok:bool,tags:set,n:number,out:x\n"
                           "r1,true,\"a, b\",-,yes\nr2,-,-,null,missing\n")
        self.assertEqual(t.evaluate({"ok": True, "tags": ["b", "z"], "n": 3})[0].rule, "r1")
        self.assertEqual(t.evaluate({"ok": False, "n": None})[0].rule, "r2")
        with self.assertRaises(TypeError):
            t.evaluate({"ok": object()})
        with self.assertRaises(lr.LeadError):
            t.evaluate({"n": float("nan")})

    def test_parse_error_attributes(self):
        with self.assertRaises(lr.ParseError) as cm:
            lr.Table.parse("rule,kind\nr1,a\nr2,>> 3\n", "bad.csv")
        e = cm.exception
        self.assertIsInstance(e, lr.LeadrouteError)
        self.assertEqual(e.code, -4)
        self.assertEqual(e.file, "bad.csv")
        self.assertEqual(e.line, 3)
        self.assertGreater(e.column, 0)
        self.assertIn("bad.csv:3:", str(e))

    def test_load_missing_file(self):
        with self.assertRaises(lr.LeadrouteIOError) as cm:
            lr.Table.load("/nonexistent/table.csv")
        self.assertEqual(cm.exception.code, -9)

    def test_context_manager_closes_once(self):
        with lr.Table.parse(TABLE) as t:
            self.assertEqual(len(t.rules), 3)
        with self.assertRaises(ValueError):
            t.rules
        t.close()  # second close is a no-op


class RosterTests(unittest.TestCase):
    def test_from_dicts_and_parse(self):
        ro = lr.Roster.from_dicts(
            [{"id": "bob", "pools": ["p"], "skills": {"languages": ["en", "de"]}, "weight": 2},
             {"id": "alice", "pools": ["p"]}],
            [{"id": "p", "strategy": "weighted", "filters": [("language", "languages")]}])
        self.assertEqual(ro.reps, ["alice", "bob"])
        self.assertEqual(ro.pools, ["p"])
        text = "#! pools\nid,strategy\np,round_robin\n#! reps\nid,pools\nx,p\n"
        self.assertEqual(lr.Roster.parse(text).reps, ["x"])

    def test_bad_roster(self):
        with self.assertRaises(lr.LeadrouteError):
            lr.Roster.from_dicts([{"id": "a", "pools": ["nope"]}], [{"id": "p"}])
        with self.assertRaises(ValueError):
            lr.Roster.from_dicts([], [{"id": "p", "strategy": "fast"}])


class RouterTests(unittest.TestCase):
    def setUp(self):
        self.table = lr.Table.parse(TABLE, "t.csv")
        self.now = NOW

    def router(self, roster=None, **kw):
        kw.setdefault("clock", lambda: self.now)
        return lr.Router(self.table, roster or two_rep_roster(), **kw)

    def test_round_robin(self):
        r = self.router()
        reps = [r.route("L%d" % i, {"kind": "a"}).rep for i in range(4)]
        self.assertEqual(reps, ["alice", "bob", "alice", "bob"])
        d = r.route("L9", {"kind": "a", "score": 99}, trace=True)
        self.assertEqual(d.status, "assigned")
        self.assertEqual((d.pool, d.rule, d.label, d.tags, d.sla_minutes), ("p", "hot", "hot", "vip", 5.0))
        self.assertEqual(d.table_hash, self.table.hash)
        self.assertEqual({c.rep: c.verdict for c in d.candidates}, {"alice": "chosen", "bob": "eligible"})
        self.assertIn("alice", d.explain_text())
        self.assertEqual(d.explain_json()["rep"], "alice")

    def test_queue_and_dry_run(self):
        r = self.router()
        d = r.route("Q1", {"kind": "q"})
        self.assertEqual((d.status, d.queue, d.rep), ("queued", "triage", None))
        d = r.route("L1", {"kind": "a"}, dry_run=True)
        self.assertEqual(d.rep, "alice")
        self.assertEqual(r.route("L1", {"kind": "a"}).rep, "alice")  # dry run changed nothing

    def test_dedupe_existing(self):
        r = self.router(dedupe_field="email")
        first = r.route("L1", {"kind": "a", "email": "x@example.com"})
        again = r.route("L2", {"kind": "a", "email": "x@example.com"})
        self.assertEqual(first.status, "assigned")
        self.assertEqual(again.status, "existing")
        self.assertEqual(again.rep, first.rep)
        with self.assertRaises(lr.LeadError):
            r.route("L3", {"kind": "a"})  # no dedupe key

    def test_dedupe_fold(self):
        r = self.router(dedupe_field="email", dedupe_fold=True)
        first = r.route("L1", {"kind": "a", "email": "Joe@Example.com"})
        again = r.route("L2", {"kind": "a", "email": " JOE@EXAMPLE.COM\u00a0"})
        self.assertEqual((first.status, again.status, again.rep), ("assigned", "existing", first.rep))
        r.close("joe@EXAMPLE.com")
        exact = self.router(dedupe_field="email")
        exact.route("L1", {"kind": "a", "email": "Joe@Example.com"})
        self.assertEqual(exact.route("L2", {"kind": "a", "email": "JOE@EXAMPLE.COM"}).status, "assigned")
        with self.assertRaises(TypeError):
            self.router(dedupe_field="email", dedupe_fold="yes")

    def test_notify_receives_assignments(self):
        seen = []
        r = self.router(notify=seen.append)
        d = r.route("L1", {"kind": "a"})
        self.assertTrue(d.notified)
        self.assertEqual(len(seen), 1)
        a = seen[0]
        # The store key is namespaced (docs/router.md): "lead:<dedupe key>".
        self.assertEqual((a.key, a.lead_id, a.rep, a.pool, a.rule), ("lead:L1", "L1", "alice", "p", "plain"))
        self.assertEqual(a.at_ms, NOW)
        self.assertEqual(a.deadline_ms, NOW + 10 * 60000)
        self.assertEqual(a.table_hash, self.table.hash)
        self.assertIsNone(a.previous)

    def test_availability_makes_rep_away(self):
        asked = []

        def avail(rep, lead_id, fields, now_ms):
            asked.append((rep, lead_id, fields.get("kind"), now_ms))
            return "vacation" if rep == "alice" else True

        r = self.router(availability=avail)
        d = r.route("L1", {"kind": "a"}, trace=True)
        self.assertEqual(d.rep, "bob")
        by_rep = {c.rep: c for c in d.candidates}
        self.assertEqual(by_rep["alice"].verdict, "away")
        self.assertEqual(by_rep["alice"].detail, "vacation")
        self.assertEqual(by_rep["bob"].verdict, "chosen")
        self.assertIn(("alice", "L1", "a", NOW), asked)

    def test_exception_in_callback_surfaces(self):
        class Boom(Exception):
            pass

        def avail(rep, lead_id, fields, now_ms):
            raise Boom("no directory")

        r = self.router(availability=avail)
        with self.assertRaises(Boom) as cm:
            r.route("L1", {"kind": "a"})
        self.assertIsInstance(cm.exception.__cause__, lr.CallbackError)
        # Nothing was changed: after removing the failing callback, alice is first.
        r.set_availability(None)
        self.assertEqual(r.route("L1", {"kind": "a"}).rep, "alice")

        def bad_notify(a):
            raise Boom("smtp down")

        r2 = self.router(notify=bad_notify)
        with self.assertRaises(Boom):
            r2.route("L1", {"kind": "a"})
        # The assignment stands (a notify failure is not a routing failure).
        self.assertEqual(r2.route("L1", {"kind": "a"}).status, "existing")

    def test_exception_in_clock_surfaces(self):
        def clock():
            raise KeyError("no time")

        r = self.router(clock=clock)
        with self.assertRaises(KeyError):
            r.route("L1", {"kind": "a"})
        r.set_clock(lambda: NOW)
        self.assertEqual(r.route("L2", {"kind": "a"}).status, "assigned")

    def test_clock_and_tick_reassignment(self):
        seen = []
        r = self.router(notify=seen.append)
        d = r.route("L1", {"kind": "a"})
        self.assertEqual(d.rep, "alice")
        self.assertEqual(r.tick(NOW + 10 * 60000 - 1)["due"], 0)
        self.now = NOW + 11 * 60000
        stats = r.tick(self.now, lookup=lambda key: {"kind": "a"})
        self.assertEqual(stats["due"], 1)
        self.assertEqual(stats["reassigned"], 1)
        self.assertEqual(seen[-1].rep, "bob")
        self.assertEqual(seen[-1].previous, "alice")
        self.assertEqual(seen[-1].hops, 1)
        r.acknowledge("L1")
        self.assertEqual(r.tick(self.now + 10 ** 9)["due"], 0)
        r.close("L1")
        with self.assertRaises(lr.NotFoundError):
            r.close("L1")

    def test_metrics(self):
        r = self.router()
        for i in range(3):
            r.route("L%d" % i, {"kind": "a"})
        r.route("N", {"kind": "none"})
        m = r.metrics()
        self.assertEqual(m["routed"], 3)
        self.assertEqual(m["reps"], {"alice": 2, "bob": 1})
        self.assertEqual(m["rules"]["plain"], 3)
        self.assertEqual(m["unrouted"]["no_rule"], 1)

    def test_set_table_and_roster(self):
        r = self.router()
        r.set_table(lr.Table.parse("rule,kind,out:queue\nall,-,everything\n"))
        self.assertEqual(r.route("L1", {"kind": "a"}).queue, "everything")
        r.set_table(self.table)
        r.set_roster(lr.Roster.from_dicts([{"id": "zed", "pools": ["p"]}], [{"id": "p"}]))
        self.assertEqual(r.route("L2", {"kind": "a"}).rep, "zed")

    def test_gc_while_c_holds_callbacks(self):
        seen = []

        def make():
            # Only the router keeps these closures alive.
            return (lambda a: seen.append(a.rep)), (lambda rep, lid, f, now: rep != "alice"), (lambda: NOW)

        notify, avail, clock = make()
        r = lr.Router(lr.Table.parse(TABLE), two_rep_roster(), notify=notify, availability=avail, clock=clock)
        del notify, avail, clock
        gc.collect()
        d = r.route("L1", {"kind": "a"})
        gc.collect()
        d2 = r.route("L2", {"kind": "a"})
        self.assertEqual((d.rep, d2.rep), ("bob", "bob"))
        self.assertEqual(seen, ["bob", "bob"])

    def test_threads_route_concurrently(self):
        count = [0]
        lock = threading.Lock()

        def notify(a):
            with lock:
                count[0] += 1

        r = self.router(notify=notify)
        errors = []
        reps = []

        def worker(n):
            try:
                for i in range(200):
                    reps.append(r.route("T%d-%d" % (n, i), {"kind": "a"}).rep)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(reps), 800)
        self.assertEqual(count[0], 800)
        self.assertEqual(reps.count("alice"), 400)  # round robin stays exact under contention
        self.assertEqual(r.metrics()["routed"], 800)


class MisuseTests(unittest.TestCase):
    """What a Python caller may do wrong gets a Python error, never a C object
    owned twice, read as another kind, or a string cut short."""

    def objects(self):
        table = lr.Table.parse(TABLE, "t.csv")
        roster = two_rep_roster()
        router = lr.Router(table, roster, clock=lambda: NOW)
        return {
            "table": table,
            "roster": roster,
            "router": router,
            "leads": lr.Leads.parse("id,kind\nL1,a\n", table=table),
            "evaluator": lr.Evaluator(table),
            "builder": lr.TableBuilder(),
            "decision": router.route("L1", {"kind": "a"}),
        }

    def test_closed_roster_lookup_says_closed(self):
        roster = two_rep_roster()
        self.assertEqual(roster.rep("alice")["id"], "alice")
        roster.close()
        for lookup in (lambda: roster.rep("alice"), lambda: roster.pool("p")):
            with self.assertRaisesRegex(ValueError, "closed"):
                lookup()

    def test_swap_with_a_table_closed_meanwhile_changes_nothing(self):
        # Another thread closes the table just after the router took its
        # handle: the swap must fail whole, or happen whole, never half.
        a = lr.Table.parse(TABLE, "a.csv")
        b_text = TABLE.replace("plain,a,-,p,,,10,", "other,a,-,p,,,20,")
        b = lr.Table.parse(b_text, "b.csv")

        class ClosedMeanwhile(lr.Table):
            def _handle(self):
                h = super()._handle()
                self.close()  # the first handle handed out stays valid for its call
                return h

        racy = b.copy()
        racy.__class__ = ClosedMeanwhile
        router = lr.Router(a, two_rep_roster(), clock=lambda: NOW)
        try:
            router.set_table(racy)
        except ValueError:
            pass
        d = router.route("L1", {"kind": "a", "score": 10})
        self.assertEqual(d.table_hash, router.table.hash)
        self.assertEqual(d.rule, "plain" if router.table.hash == a.hash else "other")
        self.assertIn(d.rule, router.rule_hits())

    def test_concurrent_swaps_name_the_table_c_routes_with(self):
        # Thread A's swap has reached C when thread B swaps: whichever lands
        # last in C must be the table the router names, and whose rules
        # rule_hits() counts.
        from leadroute import _router
        a = lr.Table.parse(TABLE, "a.csv")
        b = lr.Table.parse(TABLE.replace("plain,a,-,p,,,10,", "other,a,-,p,,,20,"), "b.csv")
        router = lr.Router(a, two_rep_roster(), clock=lambda: NOW)
        real = _router._lib.leadroute_router_set_table
        a_in_c, b_done = threading.Event(), threading.Event()

        def set_table(h, t):
            real(h, t)
            if threading.current_thread().name == "A":
                a_in_c.set()
                b_done.wait(0.5)  # B cannot finish while A holds the swap

        def swap_b():
            a_in_c.wait(5)
            router.set_table(b)
            b_done.set()

        _router._lib.leadroute_router_set_table = set_table
        try:
            ta = threading.Thread(target=router.set_table, args=(a,), name="A")
            tb = threading.Thread(target=swap_b)
            ta.start()
            tb.start()
            ta.join()
            tb.join()
        finally:
            _router._lib.leadroute_router_set_table = real
        d = router.route("L1", {"kind": "a", "score": 10}, dry_run=True)
        self.assertEqual(d.table_hash, router.table.hash)
        self.assertEqual(d.table_hash, b.hash)
        self.assertIn(d.rule, router.rule_hits())

    def test_no_copy_or_pickle_of_c_objects(self):
        import copy
        import dataclasses
        import pickle
        for name, obj in self.objects().items():
            with self.subTest(name):
                if name in ("router", "evaluator", "builder"):  # mutable: a copy cannot share it
                    with self.assertRaises(TypeError):
                        copy.copy(obj)
                    with self.assertRaises(TypeError):
                        copy.deepcopy(obj)
                elif name != "decision":  # immutable: a copy is the object itself, one owner still
                    self.assertIs(copy.copy(obj), obj)
                    self.assertIs(copy.deepcopy(obj), obj)
                with self.assertRaises(TypeError):
                    pickle.dumps(obj)
        o = self.objects()
        d = o["decision"]
        self.assertIn("assigned", copy.copy(d).explain_text())
        self.assertIn("assigned", copy.deepcopy(d).explain_text())
        self.assertEqual(dataclasses.asdict(d)["rep"], d.rep)
        lead = o["leads"][0]
        self.assertEqual(dataclasses.asdict(lead)["fields"], lead.fields)
        self.assertEqual(copy.deepcopy(lead).fields, {"id": "L1", "kind": "a"})

    def test_objects_of_the_wrong_kind(self):
        o = self.objects()
        table, roster, router = o["table"], o["roster"], o["router"]
        cases = [
            ("Router(roster, table)", lambda: lr.Router(roster, table)),
            ("set_table(roster)", lambda: router.set_table(roster)),
            ("set_roster(table)", lambda: router.set_roster(table)),
            ("Evaluator(roster)", lambda: lr.Evaluator(roster)),
            ("evaluate(table=leads)", lambda: o["evaluator"].evaluate({"kind": "a"}, "x", table=o["leads"])),
            ("Leads.parse(table=router)", lambda: lr.Leads.parse("id\nL1\n", table=router)),
        ]
        for what, call in cases:
            with self.subTest(what):
                with self.assertRaisesRegex(TypeError, "must be a (Table|Roster)"):
                    call()
        # the router routes on with what it had
        self.assertEqual(router.route("L2", {"kind": "a"}).status, "assigned")

    def test_integers_out_of_range(self):
        # ctypes would keep the low 32 bits: 2**32 as capacity 0 (no cap), -1 as 4294967295
        for what, rep, pool in [
            ("capacity", {"capacity": 2**32}, {}),
            ("cap_day", {"cap_day": -1}, {}),
            ("tier", {"tier": -2}, {}),
            ("max_hops", {}, {"max_hops": -1}),
            ("cap_week", {}, {"cap_week": 2**40}),
            ("value_window_days", {}, {"value_window_days": 2**32 + 1}),
        ]:
            with self.subTest(what):
                with self.assertRaisesRegex(ValueError, "%s must be 0..4294967295" % what):
                    lr.Roster.from_dicts([dict(id="a", pools=["p"], **rep)], [dict(id="p", **pool)])
        with self.assertRaisesRegex(ValueError, "max_retries must be"):
            lr.Router(lr.Table.parse(TABLE), two_rep_roster(), max_retries=-1)
        router = lr.Router(lr.Table.parse(TABLE), two_rep_roster(), clock=lambda: 2**63)
        with self.assertRaisesRegex(ValueError, "now_ms must fit in a signed 64-bit integer"):
            router.tick(10**30)
        with self.assertRaisesRegex(ValueError, "now_ms must fit"):
            router.list_due(-2**63 - 1)
        with self.assertRaisesRegex(ValueError, "the clock's time must fit"):
            router.route("L1", {"kind": "a"})
        ro = lr.Roster.from_dicts([dict(id="a", pools=["p"], capacity=4294967295, cap_day=None)], [dict(id="p")])
        self.assertEqual(ro.rep("a")["capacity"], 4294967295)

    def test_numbers_and_kinds_checked_before_c(self):
        # ctypes keeps the low bits of an int, refuses floats with its own
        # ArgumentError, and a str where a list is wanted iterates by character
        o = self.objects()
        router, leads = o["router"], o["leads"]
        router.route("L1", {"kind": "a"})
        self.assertEqual(router.rule_hits(1), router.rule_hits("plain"))
        self.assertEqual(router.rule_hits(-2), router.rule_hits(1))  # from the end, as lists do
        for bad in (2**64, 2**64 + 1, 3, -4):
            with self.assertRaises(IndexError):
                router.rule_hits(bad)
        for call in (lambda: router.rule_hits(1.5), lambda: leads[0.5], lambda: leads[1.0],
                     lambda: lr.utf8_valid(5), lambda: lr.Leads.parse(None), lambda: lr.Table.parse(None),
                     lambda: lr.TableBuilder().add_input("x", None), lambda: lr.TableBuilder().add_input("x", 2.0),
                     lambda: lr.Roster.from_dicts([], [dict(id="p", strategy=None)]),
                     lambda: lr.Roster.from_dicts([dict(id="a", pools="pq")], [dict(id="p")]),
                     lambda: lr.Roster.from_dicts([dict(id="a", pools=["p"], skills={"lang": 5})], [dict(id="p")]),
                     lambda: lr.Roster.from_dicts([], [dict(id="p", filters="ab")]),
                     lambda: lr.TableBuilder().add_input("k").add_output("o").add_rule("ab", ["p"]),
                     lambda: lr.strerror("x"), lambda: router.set_notify(5), lambda: router.set_clock("x"),
                     lambda: router.set_availability(5), lambda: router.set_store(lr.MemoryStore)):
            with self.assertRaises(TypeError):
                call()
        self.assertEqual(leads[-1].id, "L1")
        for call in (lambda: lr.Table.parse(TABLE, max_memory=2**64), lambda: lr.Table.parse(TABLE, max_memory=-1),
                     lambda: lr.Roster.from_dicts([], [dict(id="p", strategy=2**32 + 1)]),
                     lambda: lr.Roster.from_dicts([], [dict(id="p", on_empty=-1)]),
                     lambda: lr.TableBuilder().add_input("x", 2**32 + 2), lambda: lr.strerror(2**40),
                     lambda: router.tick(float("nan")), lambda: router.tick(float("inf"))):
            with self.assertRaises(ValueError):
                call()
        # a Path names a table parsed from text, as it names a loaded one
        import pathlib
        with self.assertRaises(lr.ParseError) as cm:
            lr.Table.parse("rule,a:nmber,out:o\n", pathlib.Path("dir/t.csv"))
        self.assertEqual(cm.exception.file, "dir/t.csv")
        # whole floats stay welcome where C takes an integer; times may have fractions
        ro = lr.Roster.from_dicts([dict(id="a", pools=["p"], capacity=4.0)], [dict(id="p")])
        self.assertEqual(ro.rep("a")["capacity"], 4)
        with self.assertRaises(ValueError):
            lr.Roster.from_dicts([dict(id="a", pools=["p"], capacity=4.5)], [dict(id="p")])
        self.assertEqual(router.tick(NOW + 0.5)["due"], 0)

    def test_router_keeps_its_table_and_roster(self):
        table, roster = lr.Table.parse(TABLE), two_rep_roster()
        router = lr.Router(table, roster, clock=lambda: NOW)
        table.close()
        roster.close()
        self.assertEqual(router.route("L1", {"kind": "a", "score": 95}).rule, "hot")
        self.assertEqual(router.rule_hits("hot"), 1)
        self.assertEqual(router.table.rules, ["hot", "plain", "queued"])
        router.table.close()  # a reference of its own: the router's stays
        self.assertEqual(router.rule_hits(), {"hot": 1, "plain": 0, "queued": 0})
        self.assertEqual(router.roster.reps, ["alice", "bob"])

    def test_route_fields_take_their_id(self):
        router = lr.Router(lr.Table.parse(TABLE), two_rep_roster(), clock=lambda: NOW)
        d = router.route({"id": "L1", "kind": "a"})
        self.assertEqual(d.status, "assigned")
        again = router.route({"id": "L1", "kind": "a"})
        self.assertEqual((again.status, again.rep), ("existing", d.rep))
        self.assertIn("(key L1)", again.reason)
        # as a Lead of a Leads file routes
        lead = lr.Leads.parse("id,kind\nL1,a\n")[0]
        self.assertEqual(router.route(lead).status, "existing")
        with self.assertRaises(lr.LeadError):  # no id, no dedupe field
            router.route({"kind": "a"})
        with self.assertRaises(TypeError):
            router.route({"id": 42, "kind": "a"})
        self.assertEqual(router.metrics()["routed"], 1)

    def test_store_answers_checked(self):
        class Liar(lr.MemoryStore):
            answer = None

            def load_pool(self, pool_id):
                return self.answer if self.answer is not None else super().load_pool(pool_id)

        for answer, exc in (((b"", -1), ValueError), ((b"", 2**64), ValueError), ((5, 0), TypeError)):
            with self.subTest(answer=answer):
                store = Liar()
                router = lr.Router(lr.Table.parse(TABLE), two_rep_roster(), store=store, clock=lambda: NOW)
                store.answer = answer
                with self.assertRaises(exc):
                    router.route("L1", {"kind": "a"})
                store.answer = None
                self.assertEqual(router.route("L1", {"kind": "a"}).status, "assigned")

    def test_nul_characters_are_refused(self):
        router = self.objects()["router"]
        for what, call in [
            ("lead id", lambda: router.route("x\0one", {"kind": "a"})),
            ("field value", lambda: router.route("L9", {"kind": "a\0junk"})),
            ("field name", lambda: router.route("L9", {"kind\0": "a"})),
            ("key", lambda: router.acknowledge("L1\0x")),
            ("path", lambda: lr.Table.load("t.csv\0.bak")),
        ]:
            with self.subTest(what):
                with self.assertRaisesRegex(ValueError, "NUL character"):
                    call()
        self.assertEqual(router.route("x", {"kind": "a"}).status, "assigned")  # "x\0one" claimed nothing


class ConversionTests(unittest.TestCase):
    """Values crossing between Python and C both ways, the types refused on
    the way in, and the exception classes a caller catches."""

    def test_bool_outputs_and_aggregates(self):
        t = lr.Table.parse("rule,k,out:vip:bool\nr1,a,true\nr2,b,false\n")
        self.assertIs(t.evaluate({"k": "a"})[0].outputs["vip"], True)
        self.assertIs(t.evaluate({"k": "b"})[0].outputs["vip"], False)
        self.assertEqual(t.rule_outputs, {"r1": {"vip": True}, "r2": {"vip": False}})
        self.assertIsNone(t.evaluate({"k": "a"}).aggregate)  # no aggregation, no aggregate
        c = lr.Table.parse("#! hit_policy: collect\n#! aggregation: sum\n"
                           "rule,k,out:score:number\nr1,a,10\nr2,-,20\n")
        m = c.evaluate({"k": "a"})
        self.assertEqual([x.rule for x in m], ["r1", "r2"])
        self.assertEqual(m.aggregate, {"score": 30.0})
        self.assertEqual(c.evaluate({"k": "b"}).aggregate, {"score": 20.0})

    def test_error_classes(self):
        big = lr.Table.parse("#! hit_policy: collect\n#! aggregation: sum\n"
                             "rule,k,out:score:number\nr1,-,1e308\nr2,-,1e308\n")
        with self.assertRaises(lr.RangeError) as cm:
            big.evaluate({"k": "a"})
        self.assertEqual(cm.exception.code, -8)
        self.assertIn("too large for a double", str(cm.exception))
        with self.assertRaises(LookupError):  # NotFoundError is a LookupError
            lr.Table.parse(TABLE).output_index("nope")
        with self.assertRaises(ValueError):  # LeadError is a ValueError
            lr.validate_lead({"n": float("nan")})
        self.assertEqual(lr.LeadrouteError("m", -14).code, -14)
        self.assertEqual(lr.LeadrouteError("m").code, 0)

    def test_wrong_types_are_type_errors(self):
        t = lr.Table.parse(TABLE)
        router = lr.Router(t, two_rep_roster(), clock=lambda: NOW)
        for what, call in [
            ("a list for a name", lambda: t.output_index(["pool"])),
            ("a list for a key", lambda: router.close(["L1"])),
            ("fields not a mapping", lambda: t.evaluate([("kind", "a")])),
            ("None in a set", lambda: t.evaluate({"kind": "a", "tags": ["x", None]})),
            ("a list in a set", lambda: t.evaluate({"kind": "a", "tags": [["x"]]})),
            ("a mapping for the lead id", lambda: router.route({"kind": "a"}, {"kind": "q"})),
        ]:
            with self.subTest(what):
                with self.assertRaises(TypeError):
                    call()
        self.assertEqual(router.metrics()["routed"], 0)

    def test_text_read_with_surrogateescape_goes_as_its_bytes(self):
        # a UTF-8 file read as ASCII with errors="surrogateescape": each byte
        # stands for itself, so the parser sees the file's own UTF-8
        raw = "#! name: caf\u00e9\nrule,k,out:x\nr1,a,\u00e9\n".encode("utf-8")
        t = lr.Table.parse(raw.decode("ascii", "surrogateescape"))
        self.assertEqual(t.name, "caf\u00e9")
        self.assertEqual(t.evaluate({"k": "a"})[0].outputs, {"x": "\u00e9"})
        leads = lr.Leads.parse("id,city\nL1,Z\u00fcrich\n".encode("utf-8").decode("ascii", "surrogateescape"))
        self.assertEqual((leads[0].fields["city"], leads.skipped), ("Z\u00fcrich", []))

    def test_leads_parse_takes_bytes(self):
        leads = lr.Leads.parse(b"id,kind\nL1,a\n")
        self.assertEqual([(x.id, x.fields, x.line) for x in leads], [("L1", {"id": "L1", "kind": "a"}, 2)])

    def test_skills_given_as_one_str(self):
        ro = lr.Roster.from_dicts([{"id": "a", "pools": ["p"], "skills": {"lang": "de", "region": ["eu", "us"]}}],
                                  [{"id": "p"}])
        self.assertEqual(ro.rep("a")["skills"], {"lang": ["de"], "region": ["eu", "us"]})

    def test_reassign_flag(self):
        r = lr.Router(lr.Table.parse(TABLE), two_rep_roster(), clock=lambda: NOW)
        self.assertEqual(r.route("L1", {"kind": "a"}).rep, "alice")
        self.assertEqual(r.route("L1", {"kind": "a"}).status, "existing")
        d = r.route("L1", {"kind": "a"}, reassign=True)  # the holder is excluded
        self.assertEqual((d.status, d.rep), ("assigned", "bob"))

    def test_availability_answers(self):
        # None is available; a str is away, with that reason
        answers = {"alice": "in a meeting", "bob": None}
        r = lr.Router(lr.Table.parse(TABLE), two_rep_roster(), clock=lambda: NOW,
                      availability=lambda rep, lead_id, fields, now: answers[rep])
        d = r.route("L1", {"kind": "a"}, trace=True)
        self.assertEqual(d.rep, "bob")
        self.assertEqual(d.candidates[0], lr.Candidate("alice", "p", "away", "in a meeting"))
        answers.update(alice=False, bob=True)  # False is away, with no reason of its own
        d = r.route("L2", {"kind": "a"}, trace=True)
        self.assertEqual(d.rep, "bob")
        self.assertEqual(d.candidates[0], lr.Candidate("alice", "p", "away", "away"))


class HostileUseTests(unittest.TestCase):
    """A caller's mistakes give Python errors that name them, never a crash
    or a silently different answer."""

    def setUp(self):
        self.table = lr.Table.parse(TABLE, "t.csv")

    def router(self, **kw):
        kw.setdefault("clock", lambda: NOW)
        return lr.Router(self.table, two_rep_roster(), **kw)

    def test_wrappers_are_not_made_from_handles(self):
        for what, call in [
            ("Table(path)", lambda: lr.Table("t.csv")),
            ("Table(int)", lambda: lr.Table(12345)),
            ("Table(None)", lambda: lr.Table(None)),
            ("Roster(path)", lambda: lr.Roster("reps.csv")),
            ("Leads(text)", lambda: lr.Leads("id,a\nx,1\n", None)),
        ]:
            with self.subTest(what):
                with self.assertRaisesRegex(TypeError, r"use \w+\.(parse|load)"):
                    call()
        # the ways that make them still do
        self.assertEqual(self.table.copy().name, "py test")
        self.assertEqual(len(lr.Leads.parse("id,kind\nL1,a\n", table=self.table)), 1)

    def test_lead_fields_cannot_be_changed_behind_the_lead(self):
        lead = lr.Leads.parse("id,kind,score\nL1,a,95\n", table=self.table)[0]
        with self.assertRaises(TypeError):
            lead.fields["kind"] = "q"
        with self.assertRaises(TypeError):
            del lead.fields["kind"]
        with self.assertRaises(TypeError):
            lead.fields.update(kind="q")
        self.assertEqual(dict(lead.fields), {"id": "L1", "kind": "a", "score": "95"})
        self.assertEqual(self.table.evaluate(lead)[0].rule, "hot")
        # a Lead made from another routes with its own id and fields
        other = dataclasses.replace(lead, id="L2", fields={"kind": "q"})
        self.assertEqual(self.table.evaluate(other)[0].rule, "queued")
        r = self.router()
        self.assertEqual(r.route(other).explain_json()["lead_id"], "L2")
        self.assertEqual(r.route(lead).explain_json()["lead_id"], "L1")
        # copies and dicts of a lead still work
        self.assertEqual(dataclasses.asdict(lead)["fields"]["kind"], "a")
        self.assertEqual(copy.deepcopy(lead).fields, lead.fields)
        # a Lead and fields besides: which would count is not guessed
        with self.assertRaisesRegex(TypeError, "Lead"):
            r.route(lead, {"kind": "q"})

    def test_flags_are_bools(self):
        r = self.router()
        for what, call in [
            ("dry_run", lambda: r.route("S1", {"kind": "a"}, dry_run="false")),
            ("reassign", lambda: r.route("S1", {"kind": "a"}, reassign="no")),
            ("trace", lambda: r.route("S1", {"kind": "a"}, trace="yes")),
            ("lint", lambda: lr.Table.parse(TABLE, lint="false")),
            ("case_insensitive", lambda: lr.TableBuilder().add_input("a", case_insensitive="no")),
        ]:
            with self.subTest(what):
                with self.assertRaisesRegex(TypeError, what + " must be a bool"):
                    call()
        self.assertEqual(r.metrics()["routed"], 0)
        self.assertEqual(r.route("S1", {"kind": "a"}, dry_run=1).status, "assigned")
        self.assertEqual(r.route("S1", {"kind": "a"}, dry_run=False).status, "assigned")
        self.assertEqual(r.route("S1", {"kind": "a"}).status, "existing")

    def test_tick_lookup_of_an_unreadable_lead_is_raised(self):
        r = self.router(clock=lambda: 1000)
        r.route("T1", {"kind": "a"})
        with self.assertRaisesRegex(lr.LeadError, "1025 fields; a lead holds at most 1024") as cm:
            r.tick(10**10, lambda key: {"f%d" % i: "x" for i in range(1025)})
        self.assertIn("T1", str(cm.exception))
        stats = r.tick(10**10, lambda key: {"f%d" % i: "x" for i in range(1024)})
        self.assertEqual((stats["due"], stats["reassigned"], stats["failed"]), (1, 1, 0))

    def test_store_answers_are_typed(self):
        for answer, exc, text in (("jo\0nas", ValueError, "find_claim"), (b"jonas", TypeError, "find_claim"),
                                  (5, TypeError, "find_claim")):
            with self.subTest(answer=answer):
                class S(lr.MemoryStore):
                    def find_claim(self, key):
                        return answer
                with self.assertRaisesRegex(exc, text):
                    self.router(store=S()).route("F1", {"kind": "a"})

        class Ack(lr.MemoryStore):
            def acknowledge(self, key, at_ms):
                at, rep, pool = super().acknowledge(key, at_ms)
                return at, rep.encode(), pool
        r = self.router(store=Ack())
        r.route("A1", {"kind": "a"})
        with self.assertRaisesRegex(TypeError, "acknowledge"):
            r.acknowledge("A1")

    def test_none_for_a_string(self):
        r = self.router()
        r.route("L1", {"kind": "a"})
        for what, call in [
            ("output_index", lambda: self.table.output_index(None)),
            ("close", lambda: r.close(None)),
            ("acknowledge", lambda: r.acknowledge(None)),
            ("pool_fairness", lambda: r.pool_fairness(None)),
            ("add_input", lambda: lr.TableBuilder().add_input(None)),
            ("add_output", lambda: lr.TableBuilder().add_output(None)),
            ("set", lambda: lr.TableBuilder().set(None, "x")),
            ("a field name", lambda: r.route("L2", {None: "a"})),
            ("a field name to evaluate", lambda: self.table.evaluate({None: "a"})),
        ]:
            with self.subTest(what):
                with self.assertRaisesRegex(TypeError, "NoneType"):
                    call()
        self.assertEqual(r.metrics()["routed"], 1)

    def test_set_of_mixed_items(self):
        with self.assertRaisesRegex(TypeError, "field 'tags': set items must be str, got int"):
            self.table.evaluate({"kind": "a", "tags": {"crm", 1}})

    def test_roster_from_dicts_takes_mappings(self):
        for reps, pools in (({"id": "a", "pools": ["p"]}, [{"id": "p"}]), (["alice"], [{"id": "p"}]),
                            ([{"id": "a", "pools": ["p"]}], ["p"])):
            with self.subTest(reps=reps, pools=pools):
                with self.assertRaisesRegex(TypeError, "must be a list of mappings"):
                    lr.Roster.from_dicts(reps, pools)

    def test_callbacks_replaced_while_another_thread_routes(self):
        # set callbacks before routing starts (router.h); done anyway, the
        # callbacks C may still reach stay alive: no call reaches a freed one
        r = self.router()
        seen = []
        old_hook = sys.unraisablehook
        sys.unraisablehook = lambda u: seen.append(u)
        done = threading.Event()

        def route():
            i = 0
            while not done.is_set():
                i += 1
                r.route("R%d" % i, {"kind": "a"})

        t = threading.Thread(target=route)
        t.start()
        try:
            for _ in range(3000):
                r.set_clock(lambda: NOW)
                r.set_notify(lambda a: None)
        finally:
            done.set()
            t.join()
            sys.unraisablehook = old_hook
        self.assertEqual(seen, [])


class VersionTests(unittest.TestCase):
    def test_version(self):
        self.assertEqual(lr.version_number() // 10000, 0)
        self.assertTrue(lr.version().startswith("0."))


class CoverageTests(unittest.TestCase):
    def test_every_exported_function_is_declared(self):
        # A C function added to the library needs a ctypes declaration (types,
        # error check) here, or a line in the package docstring saying why
        # Python does without it.
        from leadroute import _ffi
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
        with open(os.path.join(root, "lib", "leadroute.sym"), encoding="utf-8") as f:
            exported = f.read().split()
        self.assertGreater(len(exported), 100)
        not_exposed = {line.split()[0] for line in lr.__doc__.splitlines() if "not exposed" in line}
        missing = [name for name in exported
                   if getattr(_ffi.lib, name).argtypes is None and name not in not_exposed]
        self.assertEqual(missing, [])
        for name in not_exposed:
            self.assertIn(name, exported)


if __name__ == "__main__":
    unittest.main()
