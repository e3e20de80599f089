"""Rosters, routers and decisions (router.h), with callbacks written in Python."""

from __future__ import annotations

import collections.abc
import ctypes
import enum
import json
import os
import threading
import time
import weakref
from ctypes import POINTER, byref, c_char_p, c_double, c_size_t, c_uint32, c_void_p
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from . import _ffi
from ._errors import LeadError, LeadrouteError
from ._leads import Lead, lead_pointer
from ._store import Assignment, Store, store_vtable
from ._table import Table
from ._values import (ADOPT, Fields, FieldValue, Keep, Owner, Shared, adopted, check_i64, check_index, check_u32,
                      copy_out, dec, enc, enum_value, fields_array, guarded, handle_of, lead_to_py, name_bytes, need,
                      path_bytes, stash, str_list, text_bytes, to_double, to_flag, value_to_py)

_lib = _ffi.lib
EUSER = _ffi.EUSER

# ---- rosters ------------------------------------------------------------------

_STRATEGIES = {"round_robin": 1, "rr": 1, "weighted": 2, "wrr": 2, "least_loaded": 3, "value_balanced": 4,
               "value": 4}
_EMPTY = {"unassigned": 1, "default_owner": 2, "queue": 3}
_CALIBRATION = {"join": 0, "catch_up": 1}


_STRATEGY_NAMES = {"round_robin": 1, "weighted": 2, "least_loaded": 3, "value_balanced": 4}


def _name_of(table: Mapping[str, int], value: int) -> Union[str, int]:
    for name, v in table.items():
        if v == value:
            return name
    return value


def _uncap(x: int) -> Optional[int]:
    return None if x == _ffi.NO_CAP else int(x)


def _cap(x: Optional[int], what: str) -> int:
    return _ffi.NO_CAP if x is None else check_u32(x, what)


_REP_KEYS = {"id", "name", "pools", "weight", "capacity", "tier", "skills", "active", "cap_day", "cap_week",
             "cap_month"}
_POOL_KEYS = {"id", "strategy", "filters", "score_field", "tiers", "fallback", "on_empty", "default_owner",
              "queue", "owner_first", "cap_day", "cap_week", "cap_month", "sla_minutes", "max_hops",
              "escalation_pool", "escalation_owner", "calibration", "value_field", "value_window_days"}


def _pairs(x: Any, what: str, shape: str) -> List[Tuple[Any, Any]]:
    if isinstance(x, (str, bytes)):
        raise TypeError("%s must be a list of %s pairs, got %s" % (what, shape, type(x).__name__))
    items = list(x)
    for item in items:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise TypeError("%s must be a list of %s pairs, got an item %r" % (what, shape, item))
    return [tuple(item) for item in items]


def _mappings(items: Any, what: str) -> List[Mapping[str, Any]]:
    """A list of mappings, one per rep or pool: a mapping itself is refused,
    where iterating would take each key for a rep."""
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, collections.abc.Iterable):
        raise TypeError("%s must be a list of mappings (one dict each), got %s" % (what, type(items).__name__))
    items = list(items)
    for x in items:
        if not isinstance(x, Mapping):
            raise TypeError("%s must be a list of mappings (one dict each), got a %s in it" % (what, type(x).__name__))
    return items


def _check_keys(d: Mapping[str, Any], allowed: set, what: str) -> None:
    extra = set(d) - allowed
    if extra:
        raise ValueError("unknown %s keys: %s" % (what, ", ".join(sorted(extra))))


class Roster(Shared):
    """Reps and pools (immutable, safe to share)."""

    _what = "roster"

    def __init__(self, _handle: int, _key: Any = None) -> None:
        adopted(_key, "Roster", "Roster.parse(), Roster.load() or Roster.from_dicts()")
        self._own(_handle, _lib.leadroute_roster_unref)

    @classmethod
    def parse(cls, text: str, filename: Optional[str] = None) -> "Roster":
        data = text_bytes(text)
        out = c_void_p()
        _lib.leadroute_roster_parse(byref(out), data, len(data), name_bytes(filename), None)
        return cls(out.value, ADOPT)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"]) -> "Roster":
        out = c_void_p()
        _lib.leadroute_roster_load(byref(out), path_bytes(path), None)
        return cls(out.value, ADOPT)  # type: ignore[arg-type]

    @classmethod
    def from_dicts(cls, reps: Sequence[Mapping[str, Any]], pools: Sequence[Mapping[str, Any]]) -> "Roster":
        """Build a roster from dicts named like the C structs' members.

        Rep: id, name, pools (list), weight, capacity, tier, skills ({set: str | [str]}),
        active, cap_day/cap_week/cap_month (None = no cap). Pool: id, strategy
        ("round_robin", "weighted", "least_loaded", "value_balanced"), filters
        ([(field, skill)]), score_field, tiers ([(min_score, min_tier)]), fallback,
        on_empty ("unassigned", "default_owner", "queue"), default_owner, queue,
        owner_first, caps, sla_minutes, max_hops, escalation_pool, escalation_owner,
        calibration ("join", "catch_up"), value_field, value_window_days.
        """
        reps, pools = _mappings(reps, "reps"), _mappings(pools, "pools")
        keep = Keep()
        c_reps = (_ffi.Rep * max(len(reps), 1))()
        for i, r in enumerate(reps):
            _check_keys(r, _REP_KEYS, "rep")
            c = c_reps[i]
            _lib.leadroute_rep_init(byref(c), _ffi.REP_VERSION)  # the C defaults for keys not given
            c.id = keep.s(r.get("id"))
            c.name = keep.s(r.get("name"))
            c.pools, c.pool_count = keep.strings(str_list(r.get("pools", ()), "a rep's pools"))
            if "weight" in r:
                c.weight = to_double(r["weight"], "rep weight")
            if "capacity" in r:
                c.capacity = check_u32(r["capacity"], "capacity")
            if "tier" in r:
                c.tier = check_u32(r["tier"], "tier")
            skills = r.get("skills", {})
            if not isinstance(skills, Mapping):
                raise TypeError("a rep's skills must be a mapping of skill name to str or list of str")
            c.skills, c.skill_count = fields_array(
                {k: ([v] if isinstance(v, str) else str_list(v, "skill %r" % k)) for k, v in skills.items()}, keep)
            if "active" in r:
                c.active = to_flag(r["active"], "active")
            for cap in ("cap_day", "cap_week", "cap_month"):
                if cap in r:
                    setattr(c, cap, _cap(r[cap], cap))
        c_pools = (_ffi.Pool * max(len(pools), 1))()
        for i, p in enumerate(pools):
            _check_keys(p, _POOL_KEYS, "pool")
            c = c_pools[i]
            _lib.leadroute_pool_init(byref(c), _ffi.POOL_VERSION)
            c.id = keep.s(p.get("id"))
            if "strategy" in p:
                c.strategy = enum_value(_STRATEGIES, p["strategy"], "strategy")
            filters = _pairs(p.get("filters", ()), "filters", "(field, skill)")
            farr = (_ffi.SkillFilter * max(len(filters), 1))(
                *[_ffi.SkillFilter(keep.s(f), keep.s(s)) for f, s in filters])
            keep.refs.append(farr)
            c.filters, c.filter_count = ctypes.cast(farr, POINTER(_ffi.SkillFilter)), len(filters)
            c.score_field = keep.s(p.get("score_field"))
            tiers = _pairs(p.get("tiers", ()), "tiers", "(min_score, min_tier)")
            tarr = (_ffi.TierRule * max(len(tiers), 1))(
                *[_ffi.TierRule(to_double(s, "tier score"), check_u32(t, "tier")) for s, t in tiers])
            keep.refs.append(tarr)
            c.tiers, c.tier_count = ctypes.cast(tarr, POINTER(_ffi.TierRule)), len(tiers)
            c.fallback = keep.s(p.get("fallback"))
            if "on_empty" in p:
                c.on_empty = enum_value(_EMPTY, p["on_empty"], "empty policy")
            c.default_owner = keep.s(p.get("default_owner"))
            c.queue = keep.s(p.get("queue"))
            if "owner_first" in p:
                c.owner_first = to_flag(p["owner_first"], "owner_first")
            for cap in ("cap_day", "cap_week", "cap_month"):
                if cap in p:
                    setattr(c, cap, _cap(p[cap], cap))
            if "sla_minutes" in p:
                c.sla_minutes = to_double(p["sla_minutes"], "pool sla_minutes")
            if "max_hops" in p:
                c.max_hops = check_u32(p["max_hops"], "max_hops")
            c.escalation_pool = keep.s(p.get("escalation_pool"))
            c.escalation_owner = keep.s(p.get("escalation_owner"))
            if "calibration" in p:
                c.calibration = enum_value(_CALIBRATION, p["calibration"], "calibration")
            c.value_field = keep.s(p.get("value_field"))
            if "value_window_days" in p:
                c.value_window_days = check_u32(p["value_window_days"], "value_window_days")
        out = c_void_p()
        _lib.leadroute_roster_new(byref(out), c_reps, len(reps), c_pools, len(pools), None)
        return cls(out.value, ADOPT)  # type: ignore[arg-type]

    def close(self) -> None:
        """Drop this object's reference, as Table.close() does."""
        self._drop()

    def __enter__(self) -> "Roster":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def copy(self) -> "Roster":
        """Another reference to the same roster, closed on its own."""
        return Roster(_lib.leadroute_roster_ref(self._handle()), ADOPT)

    @property
    def reps(self) -> List[str]:
        h = self._handle()
        return [dec(_lib.leadroute_roster_rep_id(h, i)) or "" for i in range(_lib.leadroute_roster_rep_count(h))]

    @property
    def pools(self) -> List[str]:
        h = self._handle()
        return [dec(_lib.leadroute_roster_pool_id(h, i)) or ""
                for i in range(_lib.leadroute_roster_pool_count(h))]

    def rep(self, rep_id: str) -> Dict[str, Any]:
        """Rep `rep_id` as the roster holds it, as a dict in the from_dicts() format
        (skill items normalised). KeyError if there is no such rep."""
        if not _ffi.HAS_ROSTER_ENTRIES:
            raise NotImplementedError("this libleadroute has no leadroute_roster_rep()")
        names = self.reps  # a closed roster raises here, not as a missing rep
        try:
            index = names.index(rep_id)
        except ValueError:
            raise KeyError(rep_id) from None
        c = _ffi.Rep()
        c.version = _ffi.REP_VERSION
        h = self._handle()  # held while the strings it fills in are read
        _lib.leadroute_roster_rep(h, index, byref(c))
        return {"id": dec(c.id), "name": dec(c.name),
                "pools": [dec(c.pools[i]) or "" for i in range(c.pool_count)],
                "weight": c.weight, "capacity": c.capacity, "tier": c.tier,
                "skills": {dec(c.skills[i].name) or "": value_to_py(c.skills[i].value) for i in range(c.skill_count)},
                "active": bool(c.active), "cap_day": _uncap(c.cap_day), "cap_week": _uncap(c.cap_week),
                "cap_month": _uncap(c.cap_month)}

    def pool(self, pool_id: str) -> Dict[str, Any]:
        """Pool `pool_id` as the roster holds it, as a dict in the from_dicts() format."""
        if not _ffi.HAS_ROSTER_ENTRIES:
            raise NotImplementedError("this libleadroute has no leadroute_roster_pool()")
        names = self.pools  # as in rep()
        try:
            index = names.index(pool_id)
        except ValueError:
            raise KeyError(pool_id) from None
        c = _ffi.Pool()
        c.version = _ffi.POOL_VERSION
        h = self._handle()
        _lib.leadroute_roster_pool(h, index, byref(c))
        return {"id": dec(c.id), "strategy": _name_of(_STRATEGY_NAMES, c.strategy),
                "filters": [(dec(c.filters[i].field), dec(c.filters[i].skill)) for i in range(c.filter_count)],
                "score_field": dec(c.score_field),
                "tiers": [(c.tiers[i].min_score, c.tiers[i].min_tier) for i in range(c.tier_count)],
                "fallback": dec(c.fallback), "on_empty": _name_of(_EMPTY, c.on_empty),
                "default_owner": dec(c.default_owner), "queue": dec(c.queue), "owner_first": bool(c.owner_first),
                "cap_day": _uncap(c.cap_day), "cap_week": _uncap(c.cap_week), "cap_month": _uncap(c.cap_month),
                "sla_minutes": c.sla_minutes, "max_hops": c.max_hops, "escalation_pool": dec(c.escalation_pool),
                "escalation_owner": dec(c.escalation_owner), "calibration": _name_of(_CALIBRATION, c.calibration),
                "value_field": dec(c.value_field), "value_window_days": c.value_window_days}

    def to_dicts(self) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
        """(reps, pools) as dicts that from_dicts() accepts."""
        return [self.rep(r) for r in self.reps], [self.pool(p) for p in self.pools]


# ---- routing ------------------------------------------------------------------

_VERDICTS = {1: "chosen", 2: "eligible", 3: "away", 4: "at capacity", 5: "lacks skill", 6: "tier",
             7: "excluded", 8: "not asked"}


class Availability(enum.IntEnum):
    """Verdicts an availability callback may return (besides True/False/a reason)."""

    AVAILABLE = 0
    AWAY = 1
    AT_CAPACITY = 2


@dataclass(frozen=True)
class Candidate:
    rep: str
    pool: Optional[str]
    verdict: str
    detail: Optional[str]


class _DecisionHandle(Shared):
    def __init__(self) -> None:
        out = c_void_p()
        _lib.leadroute_decision_new(byref(out), None)
        self._own(out.value, _lib.leadroute_decision_free)
        self.h = self._handle()  # never dropped: freed with the last Decision holding it


def _render(call: Callable[[Any, int, Any], Any]) -> str:
    """Run a C writer of the explain kind into a buffer that grows until the
    text fits whole: metrics may grow between two calls while routing goes on."""
    needed = c_size_t(0)
    buf = ctypes.create_string_buffer(1024)
    call(buf, len(buf), byref(needed))
    while needed.value >= len(buf):
        # room to spare, so that a few more counters do not cost another call
        buf = ctypes.create_string_buffer(needed.value + needed.value // 8 + 256)
        call(buf, len(buf), byref(needed))
    return buf.value.decode("utf-8", "replace")


@dataclass(frozen=True)
class Decision:
    """Outcome of one routing call."""

    status: str
    rep: Optional[str]
    pool: Optional[str]
    queue: Optional[str]
    rule: Optional[str]
    reason: str
    label: Optional[str]
    tags: Optional[str]
    sla_minutes: float
    table_hash: int
    notified: bool
    candidates: List[Candidate]
    _handle: _DecisionHandle = field(repr=False, compare=False)

    @classmethod
    def _from_c(cls, dh: _DecisionHandle) -> "Decision":
        h = dh.h
        cands = []
        for i in range(_lib.leadroute_decision_candidate_count(h)):
            rep, pool, detail, verdict = c_char_p(), c_char_p(), c_char_p(), c_uint32()
            _lib.leadroute_decision_candidate(h, i, byref(rep), byref(pool), byref(verdict), byref(detail))
            cands.append(Candidate(dec(rep.value) or "", dec(pool.value),
                                   _VERDICTS.get(verdict.value, str(verdict.value)), dec(detail.value)))
        return cls(
            status=dec(_lib.leadroute_route_status_name(_lib.leadroute_decision_status(h))) or "",
            rep=dec(_lib.leadroute_decision_rep(h)), pool=dec(_lib.leadroute_decision_pool(h)),
            queue=dec(_lib.leadroute_decision_queue(h)), rule=dec(_lib.leadroute_decision_rule(h)),
            reason=dec(_lib.leadroute_decision_reason(h)) or "", label=dec(_lib.leadroute_decision_label(h)),
            tags=dec(_lib.leadroute_decision_tags(h)), sla_minutes=_lib.leadroute_decision_sla_minutes(h),
            table_hash=int(_lib.leadroute_decision_table_hash(h)),
            notified=bool(_lib.leadroute_decision_notified(h)), candidates=cands, _handle=dh)

    def explain_text(self) -> str:
        h = self._handle.h
        return _render(lambda buf, cap, needed: _lib.leadroute_decision_explain(h, 1, buf, cap, needed))

    def trace(self) -> Dict[str, Any]:
        """The whole trace as a dict (the JSON explain format of docs/router.md)."""
        return self.explain_json()

    def explain_json(self) -> Dict[str, Any]:
        h = self._handle.h
        return json.loads(_render(lambda buf, cap, needed: _lib.leadroute_decision_explain(h, 2, buf, cap,
                                                                                           needed)))


NotifyCallback = Callable[[Assignment], Any]
AvailabilityCallback = Callable[[str, Optional[str], Dict[str, FieldValue], int], Any]
ClockCallback = Callable[[], int]
LookupCallback = Callable[[str], Any]

UNROUTED_REASONS = ("no_rule", "no_target", "empty", "error")
LATENCIES = {"capture_to_assign": 0, "assign_to_ack": 1}
_ROUTE_TRACE, _ROUTE_REASSIGN, _ROUTE_DRY_RUN = 0x1, 0x2, 0x4


class Fairness(NamedTuple):
    """Fairness of a pool: max - min of its members' assignments (per weight in
    weighted pools) and Jain's index (1 = equal)."""

    spread: float
    jain: float


@dataclass(frozen=True)
class LatencyStats:
    """Speed to lead in milliseconds (percentiles within 19%, mean exact)."""

    count: int
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float


class Router(Owner):
    """Routes leads through a table and a roster.

    Callbacks (store, notify, availability, clock, tick lookup) may be Python
    objects. An exception raised inside one is caught at the C boundary (C
    sees an error code: the router then fails with LEADROUTE_ECALLBACK) and
    raised again, chained to that CallbackError, from the Python call that led
    to it. A failed notify does not fail routing in C (the assignment stands
    and the notification waits in `pending()`), but its exception is still
    raised from the call. The router keeps every callback alive as long as C
    may call it, a replaced one too while a call that may reach it runs; set
    the callbacks before routing starts (C's setters are not thread-safe).
    free() may come at any time, from any thread or from a callback of the
    router itself: calls in progress finish first.

    dedupe_fold=True makes dedupe keys (such as email addresses) compare
    without case and Unicode blanks, in route(), close() and acknowledge().

    Handles are not copied: pickle raises TypeError for every object that
    owns a C object; copy.copy() and deepcopy() give the object itself for
    the immutable ones (tables, rosters, leads files, so that
    dataclasses.asdict() of a Decision or Lead works) and raise TypeError
    for the others (routers, evaluators, builders). Strings and paths may
    not hold NUL characters (ValueError); integers out of their C range
    raise ValueError, and other types TypeError, before reaching C.
    """

    def __init__(self, table: Table, roster: "Roster", *, dedupe_field: Optional[str] = None,
                 account_field: Optional[str] = None, owner_output: Optional[str] = None,
                 pool_output: Optional[str] = None, queue_output: Optional[str] = None,
                 status_output: Optional[str] = None, sla_output: Optional[str] = None,
                 tags_output: Optional[str] = None, max_retries: int = 0, captured_field: Optional[str] = None,
                 dedupe_fold: bool = False, store: Optional[Store] = None, notify: Optional[NotifyCallback] = None,
                 availability: Optional[AvailabilityCallback] = None,
                 clock: Optional[ClockCallback] = None) -> None:
        self._start_callbacks({})
        self._forks: "weakref.WeakSet[Router]" = weakref.WeakSet()
        # a swap's C call and the Python reference it keeps go together, so
        # that `table`, `roster` and rule_hits() name what C routes with
        self._swap_lock = threading.Lock()
        keep = Keep()
        opts = _ffi.RouterOptions()
        _lib.leadroute_router_options_init(byref(opts), _ffi.ROUTER_OPTIONS_VERSION)
        opts.dedupe_field, opts.account_field = keep.s(dedupe_field), keep.s(account_field)
        opts.owner_output, opts.pool_output = keep.s(owner_output), keep.s(pool_output)
        opts.queue_output, opts.status_output = keep.s(queue_output), keep.s(status_output)
        opts.sla_output, opts.tags_output = keep.s(sla_output), keep.s(tags_output)
        opts.max_retries = check_u32(max_retries, "max_retries")
        opts.captured_field = keep.s(captured_field)
        opts.dedupe_fold = 1 if to_flag(dedupe_fold, "dedupe_fold") else 0
        out = c_void_p()
        _lib.leadroute_router_new(byref(out), handle_of(table, Table, "table"), handle_of(roster, Roster, "roster"),
                                  byref(opts))
        self._own(out.value, _lib.leadroute_router_free)
        self._handle().keep.extend([self._callbacks, self._retired])  # held as long as the C router
        # references of the router's own: closing the caller's objects leaves these open
        self._table = table.copy()
        self._roster = roster.copy()
        if store is not None:
            self.set_store(store)
        if notify is not None:
            self.set_notify(notify)
        if availability is not None:
            self.set_availability(availability)
        if clock is not None:
            self.set_clock(clock)

    # -- lifetime --

    _what = "router"
    _gone = "is freed"

    def free(self) -> None:
        """Free the C router and the routers forked from it. A call in
        progress on any of them (on another thread, or the call whose
        callback frees it) keeps what it uses until it returns; later calls
        raise ValueError."""
        for child in list(self._forks):
            child.free()
        self._drop()
        self._callbacks = {}  # the C router's own stay with it while a call finishes

    def _start_callbacks(self, callbacks: Dict[str, Any]) -> None:
        self._callbacks: Dict[str, Any] = callbacks  # the callbacks C may call, by kind
        self._retired: List[Any] = []  # replaced while a call ran (_use_callbacks)
        self._calls = 0  # calls running that may call the callbacks
        self._calls_lock = threading.Lock()

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """guarded(fn, ...) for a C call that may call this router's
        callbacks, counted while it runs (see _use_callbacks)."""
        with self._calls_lock:
            self._calls += 1
        try:
            return guarded(fn, *args, **kwargs)
        finally:
            with self._calls_lock:
                self._calls -= 1

    def _use_callbacks(self, kind: str, refs: Any) -> None:
        """C calls `refs` (None: no callback of that kind) from now on. The
        setters may not run while a call is in progress (router.h); one that
        does (on another thread, or from a callback) must not leave C a
        callback that is gone, so while a call runs the replaced ones are
        kept. A call that starts after this one finds the new callbacks:
        with no call running, those kept before are let go too."""
        old = self._callbacks.pop(kind, None)
        if refs is not None:
            self._callbacks[kind] = refs
        with self._calls_lock:
            busy = self._calls > 0
        if busy:
            if old is not None:
                self._retired.append(old)
        else:
            self._retired.clear()

    def __enter__(self) -> "Router":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.free()

    def fork(self) -> "Router":
        """A router for simulation: same table, roster and callbacks except
        notify; its store reads through to this one's and writes only to its
        own memory. This router stays alive as long as the fork does."""
        h = self._handle()
        out = c_void_p()
        with self._swap_lock:  # the fork's table and roster are C's of now
            guarded(_lib.leadroute_router_fork, byref(out), h)
            table, roster = self._table, self._roster
        child = Router.__new__(Router)
        child._own(out.value, _lib.leadroute_router_free)
        # C copied the vtables but notify; the fork reads through to this C
        # router and its store of now, whatever either router sets later:
        # those live as long as the fork does
        child._start_callbacks({k: v for k, v in self._callbacks.items() if k != "notify"})
        child._handle().keep.extend([child._callbacks, child._retired, h, self._callbacks.get("store")])
        child._forks = weakref.WeakSet()
        child._swap_lock = threading.Lock()
        child._table = table
        child._roster = roster
        self._forks.add(child)
        return child

    # -- configuration --

    @property
    def table(self) -> Table:
        """The current table, as a Table of its own reference: closing it
        leaves the router's."""
        return self._table.copy()

    @property
    def roster(self) -> "Roster":
        """The current roster, as table is."""
        return self._roster.copy()

    @property
    def store(self) -> Optional[Store]:
        """The Python store in use, None for the built-in one. On a fork, the
        store of the router it was forked from, which the fork reads through
        and never writes to (its own writes stay in its memory)."""
        refs = self._callbacks.get("store")
        return refs[-1] if refs else None

    def set_table(self, table: Table) -> None:
        """Swap the table atomically (other threads may be routing)."""
        # the router's own reference first: the caller's table may be closed
        # by another thread at any time, but not before nothing has changed
        handle_of(table, Table, "table")
        own = table.copy()
        with self._swap_lock:
            _lib.leadroute_router_set_table(self._handle(), own._handle())
            self._table = own

    def set_roster(self, roster: "Roster") -> None:
        """Swap reps and pools atomically; routing state is kept by id."""
        handle_of(roster, Roster, "roster")
        own = roster.copy()  # as in set_table
        with self._swap_lock:
            _lib.leadroute_router_set_roster(self._handle(), own._handle())
            self._roster = own

    def set_store(self, store: Optional[Store]) -> None:
        """Use a Python store (see Store, MemoryStore); None = back to the built-in store."""
        h = self._handle()
        if store is None:
            _lib.leadroute_router_set_store(h, None, None)
            self._use_callbacks("store", None)
            return
        vt, refs = store_vtable(store)
        _lib.leadroute_router_set_store(h, byref(vt), None)
        self._use_callbacks("store", refs)

    def set_notify(self, fn: Optional[NotifyCallback]) -> None:
        """fn(assignment) after each successful claim; its return value is ignored."""
        h = self._handle()
        if fn is None:
            _lib.leadroute_router_set_notify(h, None, None)
            self._use_callbacks("notify", None)
            return
        if not callable(fn):
            raise TypeError("notify must be callable, got %s" % type(fn).__name__)

        def tramp(_ud: Any, a: Any) -> int:
            try:
                fn(Assignment._from_c(a.contents))
                return _ffi.OK
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller
                stash(exc)
                return EUSER

        cfn = _ffi.NOTIFY_FN(tramp)
        st = _ffi.Notify(_ffi.NOTIFY_VERSION, cfn)
        _lib.leadroute_router_set_notify(h, byref(st), None)
        self._use_callbacks("notify", (cfn, fn))

    def set_availability(self, fn: Optional[AvailabilityCallback]) -> None:
        """fn(rep_id, lead_id, fields, now_ms) -> True/None (available), False (away),
        a str (away, with that reason) or an Availability member."""
        h = self._handle()
        if fn is None:
            _lib.leadroute_router_set_availability(h, None, None)
            self._use_callbacks("availability", None)
            return
        if not callable(fn):
            raise TypeError("availability must be callable, got %s" % type(fn).__name__)

        def tramp(_ud: Any, rep: bytes, lead: Any, now_ms: int, verdict: Any, reason: Optional[int],
                  cap: int) -> int:
            try:
                lead_id, fields = lead_to_py(lead)
                got = fn(dec(rep) or "", lead_id, fields, int(now_ms))
                text = ""
                if isinstance(got, Availability):
                    v = int(got)
                elif got is None or got is True:
                    v = Availability.AVAILABLE
                elif got is False:
                    v = Availability.AWAY
                elif isinstance(got, str):
                    v, text = Availability.AWAY, got
                else:
                    raise TypeError("availability callback returned %s" % type(got).__name__)
                verdict[0] = int(v)
                copy_out(reason, cap, text, "availability's reason")
                return _ffi.OK
            except BaseException as exc:  # noqa: BLE001
                stash(exc)
                return EUSER

        cfn = _ffi.AVAILABILITY_FN(tramp)
        st = _ffi.Availability(_ffi.AVAILABILITY_VERSION, cfn)
        _lib.leadroute_router_set_availability(h, byref(st), None)
        self._use_callbacks("availability", (cfn, fn))

    def set_clock(self, fn: Optional[ClockCallback]) -> None:
        """fn() -> milliseconds since the epoch. The C clock cannot fail: if fn
        raises, C gets the last time fn gave (the system's time if it never
        gave one, not 1970, which would make every deadline due at once) and
        the exception is raised from the call that read the clock, after that
        call: a route that read it still routed (see route())."""
        h = self._handle()
        if fn is None:
            _lib.leadroute_router_set_clock(h, None, None)
            self._use_callbacks("clock", None)
            return
        if not callable(fn):
            raise TypeError("clock must be callable, got %s" % type(fn).__name__)
        last: List[Optional[int]] = [None]

        def tramp(_ud: Any) -> int:
            try:
                now = check_i64(fn(), "the clock's time")
                last[0] = now
                return now
            except BaseException as exc:  # noqa: BLE001
                stash(exc)
                return last[0] if last[0] is not None else int(time.time() * 1000)

        cfn = _ffi.CLOCK_FN(tramp)
        st = _ffi.Clock(_ffi.CLOCK_VERSION, cfn)
        _lib.leadroute_router_set_clock(h, byref(st), None)
        self._use_callbacks("clock", (cfn, fn))

    # -- routing --

    def route(self, lead: Any, fields: Optional[Fields] = None, *, trace: bool = False, reassign: bool = False,
              dry_run: bool = False) -> Decision:
        """Route one lead: route(lead_id, fields), route(fields) or route(lead)
        with a Lead (fields besides a Lead are a TypeError). The flags are
        bools (or 0 or 1; "no" is a TypeError). In route(fields) the lead id is
        fields["id"], a str (TypeError otherwise), or none when the mapping
        has no "id" (a router with a dedupe_field needs none). Raises a LeadrouteError subclass when
        routing failed (nothing was changed; its `decision` says why). When a
        callback raised, its exception is raised instead, with the Decision as
        its `decision`: chained to the LeadrouteError if routing failed
        (nothing was changed), else the lead was routed all the same (a notify
        that raised leaves its notification in pending(), a clock that raised
        gave the time set_clock() says) and `decision` says where it went."""
        keep = Keep()
        flags = ((_ROUTE_TRACE if to_flag(trace, "trace") else 0)
                 | (_ROUTE_REASSIGN if to_flag(reassign, "reassign") else 0)
                 | (_ROUTE_DRY_RUN if to_flag(dry_run, "dry_run") else 0))
        if isinstance(lead, Lead):
            if fields is not None:
                raise TypeError("route(lead, fields): a Lead carries its own fields; "
                                "route(lead.id, fields) routes other ones")
            ptr = lead_pointer(lead, None, keep)
        elif fields is None and isinstance(lead, Mapping):
            lead_id = lead.get("id")
            if lead_id is not None and not isinstance(lead_id, str):
                raise TypeError("route(fields): fields['id'] is the lead id, a str, not %s" % type(lead_id).__name__)
            ptr = lead_pointer(lead, lead_id, keep)
        else:
            ptr = lead_pointer(fields if fields is not None else {}, lead, keep)
        dh = _DecisionHandle()

        def attach(err: LeadrouteError) -> None:
            err.decision = Decision._from_c(dh)  # type: ignore[attr-defined]

        def attach_to_callback(exc: BaseException) -> None:
            # a callback's exception, of any class: say what became of the lead
            try:
                exc.decision = Decision._from_c(dh)  # type: ignore[attr-defined]
            except (AttributeError, TypeError):  # an exception that takes no attribute
                pass

        self._call(_lib.leadroute_route, self._handle(), ptr, flags, dh.h, on_error=attach,
                on_callback=attach_to_callback)
        return Decision._from_c(dh)

    def acknowledge(self, key: str) -> None:
        """The rep holding `key` followed it up: its deadline no longer applies."""
        self._call(_lib.leadroute_router_acknowledge, self._handle(), need(key, "key"))

    def close(self, key: str) -> None:
        """The lead of `key` is closed: frees one unit of its rep's capacity."""
        self._call(_lib.leadroute_router_close, self._handle(), need(key, "key"))

    def tick(self, now_ms: int, lookup: Optional[LookupCallback] = None) -> Dict[str, int]:
        """Reassign or escalate overdue assignments at `now_ms`. `lookup(key)`
        may return the lead (fields, or a Lead of a Leads file) so that skill
        filters and tiers apply again; None when unknown. A lookup that raises
        (or returns something else, or a lead of more fields than a lead may
        hold: LeadError) leaves that lead with its rep, still due,
        and the tick goes on with the others; its exception is then raised
        from tick(), once the other moves are made. Returns the counts of
        leads due, reassigned, escalated, kept, raced, and failed (of kept,
        those whose move failed)."""
        cfn = None
        if lookup is not None and not callable(lookup):
            raise TypeError("lookup must be callable, got %s" % type(lookup).__name__)
        if lookup is not None:
            held: List[Any] = []

            def tramp(_ud: Any, key: bytes) -> Optional[int]:
                try:
                    got = lookup(dec(key) or "")
                    if got is None:
                        return None
                    keep = Keep()
                    ptr = lead_pointer(got, dec(key), keep)
                    n = ptr.contents.field_count
                    if n > _ffi.MAX_FIELDS:
                        # C would count it failed and say why only in its last error
                        raise LeadError("tick lookup gave lead '%s' with %d fields; a lead holds at most %d: "
                                        "it stays with its rep, still due" % (dec(key), n, _ffi.MAX_FIELDS))
                    held[:] = [keep]  # valid until the next lookup or the end of the tick
                    return ctypes.cast(ptr, c_void_p).value
                except BaseException as exc:  # noqa: BLE001
                    stash(exc)
                    return _ffi.LOOKUP_FAILED  # the lead stays, still due

            cfn = _ffi.LOOKUP_FN(tramp)
        stats = _ffi.TickStats()
        stats.version = _ffi.TICK_STATS_VERSION
        self._call(_lib.leadroute_router_tick, self._handle(), check_i64(now_ms, "now_ms"),
                cfn if cfn is not None else ctypes.cast(None, _ffi.LOOKUP_FN), None, byref(stats))
        return {"due": stats.due, "reassigned": stats.reassigned, "escalated": stats.escalated,
                "kept": stats.kept, "raced": stats.raced, "failed": stats.failed}

    def list_due(self, now_ms: Optional[int] = None) -> List[Assignment]:
        """Assignments due at `now_ms` (unacknowledged, deadline passed) as the
        store keeps them, with their history; None lists every pending one."""
        found: List[Assignment] = []

        def each(_ctx: Any, a: Any) -> int:
            try:
                found.append(Assignment._from_c(a.contents))
                return _ffi.OK
            except BaseException as exc:  # noqa: BLE001
                stash(exc)
                return EUSER

        cfn = _ffi.EACH_FN(each)
        until = _ffi.INT64_MAX if now_ms is None else check_i64(now_ms, "now_ms")
        self._call(_lib.leadroute_router_list_due, self._handle(), until, cfn, None)
        return found

    # -- notifications that failed --

    def pending_count(self) -> int:
        return int(_lib.leadroute_router_pending_count(self._handle()))

    def pending(self) -> List[Tuple[str, str]]:
        """Notifications waiting for a retry, oldest first: (dedupe key, rep id)."""
        h = self._handle()
        key = ctypes.create_string_buffer(_ffi.ID_BUFFER)
        rep = ctypes.create_string_buffer(_ffi.ID_BUFFER)
        found = []
        for i in range(_lib.leadroute_router_pending_count(h)):
            # another thread may retry meanwhile: the list only shrinks
            if _lib.leadroute_router_pending(h, i, key, len(key), rep, len(rep)) != _ffi.OK:
                break
            found.append((key.value.decode("utf-8", "replace"), rep.value.decode("utf-8", "replace")))
        return found

    def discard_pending(self, key: str) -> int:
        """Give up the pending notifications of the lead under `key`; return
        how many were dropped (NotFoundError when none was pending)."""
        n = c_size_t(0)
        self._call(_lib.leadroute_router_pending_discard, self._handle(), need(key, "key"), byref(n))
        return int(n.value)

    def retry_notifications(self) -> int:
        """Call notify again for every pending notification, oldest first;
        return how many were delivered. One that a later assignment of its
        lead superseded (a later notification of it waits too, or the store
        shows the lead held by another rep) is dropped undelivered. An
        exception notify raises is raised here once all were tried (those
        still pending stay in `pending()`); with no notify set, CallbackError
        when some are pending."""
        delivered = c_size_t(0)
        rc = self._call(_lib.leadroute_router_retry_notifications, self._handle(), byref(delivered))
        # an exception notify raised is raised above; without notify, the
        # ones left pending are a CallbackError
        _ffi._check(rc, None, None)
        return int(delivered.value)

    # -- metrics --

    def metrics(self) -> Dict[str, Any]:
        """Everything as a dict: routed, unrouted by reason, rule hits, reps,
        pools with fairness, speed to lead, load (docs/router.md, Metrics).
        It calls the clock and the store's window: what they raise is raised
        here (a window that failed reads None in "load")."""
        h = self._handle()
        return json.loads(_render(lambda buf, cap, needed: self._call(_lib.leadroute_router_metrics_json, h, buf,
                                                                      cap, needed)))

    def rep_assigned(self, rep_id: str) -> int:
        """Assignments made to a rep through this router; 0 if unknown."""
        return int(_lib.leadroute_router_rep_assigned(self._handle(), need(rep_id, "rep_id")))

    def rule_hits(self, rule: Union[str, int, None] = None) -> Any:
        """Hits of one rule of the current table (by id or index), or of every
        rule as a dict when `rule` is None."""
        h = self._handle()
        with self._swap_lock:  # the counts of the table named here
            rules = self._table.rules
            if rule is None:
                return {rid: int(_lib.leadroute_router_rule_hits(h, i)) for i, rid in enumerate(rules)}
            if isinstance(rule, str):
                try:
                    rule = rules.index(rule)
                except ValueError:
                    raise KeyError("no rule %r in the current table" % rule) from None
            return int(_lib.leadroute_router_rule_hits(h, check_index(rule, len(rules), "rule")))

    def unrouted(self, reason: Optional[str] = None) -> Any:
        """Leads left unrouted for `reason` (no_rule, no_target, empty, error),
        or a dict of all four."""
        h = self._handle()
        if reason is None:
            return {name: int(_lib.leadroute_router_unrouted(h, i)) for i, name in enumerate(UNROUTED_REASONS)}
        try:
            index = UNROUTED_REASONS.index(reason)
        except ValueError:
            raise ValueError("unknown reason %r (expected one of %s)" % (reason, ", ".join(UNROUTED_REASONS))) \
                from None
        return int(_lib.leadroute_router_unrouted(h, index))

    def pool_fairness(self, pool_id: str) -> Fairness:
        spread, jain = c_double(), c_double()
        _lib.leadroute_router_pool_fairness(self._handle(), need(pool_id, "pool_id"), byref(spread), byref(jain))
        return Fairness(spread.value, jain.value)

    def latency(self, *, rep: Optional[str] = None, pool: Optional[str] = None,
                which: str = "capture_to_assign") -> LatencyStats:
        """Speed to lead for a rep, a pool or (neither given) the whole router;
        which: "capture_to_assign" or "assign_to_ack"."""
        if which not in LATENCIES:
            raise ValueError("unknown latency %r (expected one of %s)" % (which, ", ".join(LATENCIES)))
        stats = _ffi.LatencyStats()
        stats.version = _ffi.LATENCY_STATS_VERSION
        _lib.leadroute_router_latency(self._handle(), enc(rep), enc(pool), LATENCIES[which], byref(stats))
        return LatencyStats(int(stats.count), stats.mean_ms, stats.p50_ms, stats.p90_ms, stats.p99_ms)
