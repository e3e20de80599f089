"""Python bindings (ctypes) for libleadroute: decision tables and the lead router.

The C library is found through LEADROUTE_LIBRARY (exact path), then the soname
libleadroute.so.1, then ctypes.util.find_library('leadroute').
"""

from __future__ import annotations

import ctypes
import enum
import json
import math
import os
import threading
from ctypes import POINTER, byref, c_char_p, c_size_t, c_uint32, c_void_p
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from . import _ffi
from ._errors import (CallbackError, ConflictError, ExistsError, HitPolicyError, InvalidArgumentError,
                      LeadError, LeadrouteError, LeadrouteIOError, LimitError, NotFoundError,
                      OutOfMemoryError, ParseError, RangeError, TableError, UnsupportedError, UserError,
                      VersionError)

_lib = _ffi.lib

__all__ = [
    "Table", "Match", "Roster", "Router", "Decision", "Candidate", "Assignment", "Availability",
    "version", "version_number",
    "LeadrouteError", "InvalidArgumentError", "VersionError", "OutOfMemoryError", "ParseError", "TableError",
    "LeadError", "HitPolicyError", "RangeError", "LeadrouteIOError", "LimitError", "NotFoundError",
    "UserError", "UnsupportedError", "ConflictError", "ExistsError", "CallbackError",
]

FieldValue = Union[str, float, int, bool, None, Sequence[str]]
Fields = Mapping[str, FieldValue]

EUSER = -12

_VALUE_NULL, _VALUE_STRING, _VALUE_NUMBER, _VALUE_BOOL, _VALUE_SET = range(5)


def version() -> str:
    """Version string of the loaded C library, e.g. "0.1.0"."""
    return _lib.leadroute_version_string().decode()


def version_number() -> int:
    """Version of the loaded C library as major * 10000 + minor * 100 + patch."""
    return _ffi.version_number()


def _enc(s: Optional[str]) -> Optional[bytes]:
    if s is None:
        return None
    if not isinstance(s, str):
        raise TypeError("expected str, got %s" % type(s).__name__)
    return s.encode("utf-8")


def _dec(b: Optional[bytes]) -> Optional[str]:
    return None if b is None else b.decode("utf-8", "replace")


def _path(p: Union[str, "os.PathLike[str]"]) -> bytes:
    return os.fsencode(p)


# ---- values and leads -----------------------------------------------------------


class _Keep:
    """Holds every Python object the C structs built for one call point into."""

    def __init__(self) -> None:
        self.refs: List[Any] = []

    def s(self, text: Optional[str]) -> Optional[bytes]:
        b = _enc(text)
        if b is not None:
            self.refs.append(b)
        return b

    def strings(self, items: Iterable[str]) -> Tuple[Any, int]:
        encoded = [self.s(i) for i in items]
        arr = (c_char_p * max(len(encoded), 1))(*encoded)
        self.refs.append(arr)
        return arr, len(encoded)


def _fill_value(v: _ffi.Value, x: FieldValue, keep: _Keep, name: str) -> None:
    v.version = _ffi.VALUE_VERSION
    if x is None:
        v.type = _VALUE_NULL
    elif isinstance(x, bool):
        v.type = _VALUE_BOOL
        v.boolean = 1 if x else 0
    elif isinstance(x, str):
        v.type = _VALUE_STRING
        v.string = keep.s(x)
    elif isinstance(x, (int, float)):
        v.type = _VALUE_NUMBER
        v.number = float(x)
    elif isinstance(x, (list, tuple, set, frozenset)):
        items = sorted(x) if isinstance(x, (set, frozenset)) else list(x)
        for item in items:
            if not isinstance(item, str):
                raise TypeError("field %r: set items must be str, got %s" % (name, type(item).__name__))
        v.type = _VALUE_SET
        arr, n = keep.strings(items)
        v.items = ctypes.cast(arr, POINTER(c_char_p))
        v.item_count = n
    else:
        raise TypeError("field %r: unsupported value type %s" % (name, type(x).__name__))


def _fields_array(fields: Fields, keep: _Keep) -> Tuple[Any, int]:
    if not isinstance(fields, Mapping):
        raise TypeError("fields must be a mapping of field name to value")
    arr = (_ffi.Field * max(len(fields), 1))()
    for i, (name, x) in enumerate(fields.items()):
        arr[i].name = keep.s(name)
        _fill_value(arr[i].value, x, keep, name)
    keep.refs.append(arr)
    return arr, len(fields)


def _make_lead(lead_id: Optional[str], fields: Fields, keep: _Keep) -> _ffi.Lead:
    arr, n = _fields_array(fields, keep)
    lead = _ffi.Lead(_ffi.LEAD_VERSION, keep.s(lead_id), ctypes.cast(arr, POINTER(_ffi.Field)), n)
    keep.refs.append(lead)
    return lead


def _value_to_py(v: Any) -> FieldValue:
    if v.type == _VALUE_STRING:
        return _dec(v.string)
    if v.type == _VALUE_NUMBER:
        return v.number
    if v.type == _VALUE_BOOL:
        return bool(v.boolean)
    if v.type == _VALUE_SET:
        return [_dec(v.items[i]) for i in range(v.item_count)]
    return None


def _lead_to_py(p: Any) -> Tuple[Optional[str], Dict[str, FieldValue]]:
    if not p:
        return None, {}
    lead = p.contents
    out: Dict[str, FieldValue] = {}
    for i in range(lead.field_count):
        f = lead.fields[i]
        out[_dec(f.name) or ""] = _value_to_py(f.value)
    return _dec(lead.id), out


# ---- tables -------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """One hit of an evaluation: the rule id and its outputs by column name."""

    rule: str
    outputs: Dict[str, FieldValue]


class Table:
    """A compiled decision table (immutable, safe to share between threads)."""

    def __init__(self, _handle: int) -> None:
        # Use Table.parse() or Table.load(); the handle's reference moves here.
        self._h: Optional[int] = _handle

    @classmethod
    def parse(cls, text: str, filename: Optional[str] = None) -> "Table":
        data = _enc(text) or b""
        out = c_void_p()
        _lib.leadroute_table_parse(byref(out), data, len(data), _enc(filename), None)
        return cls(out.value)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"]) -> "Table":
        out = c_void_p()
        _lib.leadroute_table_load(byref(out), _path(path), None)
        return cls(out.value)  # type: ignore[arg-type]

    def _handle(self) -> int:
        if self._h is None:
            raise ValueError("table is closed")
        return self._h

    def close(self) -> None:
        """Drop this object's reference; routers using the table keep theirs."""
        h, self._h = self._h, None
        if h is not None:
            _lib.leadroute_table_unref(h)

    def __del__(self) -> None:
        if getattr(self, "_h", None) is not None:
            self.close()

    def __enter__(self) -> "Table":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def name(self) -> str:
        return _dec(_lib.leadroute_table_name(self._handle())) or ""

    @property
    def version(self) -> str:
        return _dec(_lib.leadroute_table_version(self._handle())) or ""

    @property
    def hash(self) -> int:
        return int(_lib.leadroute_table_hash(self._handle()))

    @property
    def rules(self) -> List[str]:
        h = self._handle()
        return [_dec(_lib.leadroute_table_rule_id(h, i)) or ""
                for i in range(_lib.leadroute_table_rule_count(h))]

    @property
    def inputs(self) -> List[str]:
        h = self._handle()
        return [_dec(_lib.leadroute_table_input_name(h, i)) or ""
                for i in range(_lib.leadroute_table_input_count(h))]

    @property
    def outputs(self) -> List[str]:
        h = self._handle()
        return [_dec(_lib.leadroute_table_output_name(h, i)) or ""
                for i in range(_lib.leadroute_table_output_count(h))]

    def evaluate(self, lead: Fields, lead_id: Optional[str] = None) -> List[Match]:
        """Evaluate one lead (field name -> value) with the table's hit policy."""
        h = self._handle()
        keep = _Keep()
        c_lead = _make_lead(lead_id, lead, keep)
        res = c_void_p()
        _lib.leadroute_result_new(byref(res), h, None)
        try:
            _lib.leadroute_table_eval(h, byref(c_lead), res)
            names = self.outputs
            matches = []
            for i in range(_lib.leadroute_result_count(res)):
                outs = {}
                for j, name in enumerate(names):
                    v = _lib.leadroute_result_output(res, i, j)
                    outs[name] = _value_to_py(v.contents) if v else None
                matches.append(Match(_dec(_lib.leadroute_result_rule_id(res, i)) or "", outs))
            return matches
        finally:
            _lib.leadroute_result_free(res)


# ---- rosters ------------------------------------------------------------------

_STRATEGIES = {"round_robin": 1, "rr": 1, "weighted": 2, "wrr": 2, "least_loaded": 3, "value_balanced": 4,
               "value": 4}
_EMPTY = {"unassigned": 1, "default_owner": 2, "queue": 3}
_CALIBRATION = {"join": 0, "catch_up": 1}


def _enum(table: Mapping[str, int], x: Union[str, int], what: str) -> int:
    if isinstance(x, int):
        return x
    try:
        return table[x.lower()]
    except KeyError:
        raise ValueError("unknown %s %r (expected one of %s)" % (what, x, ", ".join(table))) from None


def _cap(x: Optional[int]) -> int:
    return _ffi.NO_CAP if x is None else int(x)


_REP_KEYS = {"id", "name", "pools", "weight", "capacity", "tier", "skills", "active", "cap_day", "cap_week",
             "cap_month"}
_POOL_KEYS = {"id", "strategy", "filters", "score_field", "tiers", "fallback", "on_empty", "default_owner",
              "queue", "owner_first", "cap_day", "cap_week", "cap_month", "sla_minutes", "max_hops",
              "escalation_pool", "escalation_owner", "calibration", "value_field", "value_window_days"}


def _check_keys(d: Mapping[str, Any], allowed: set, what: str) -> None:
    extra = set(d) - allowed
    if extra:
        raise ValueError("unknown %s keys: %s" % (what, ", ".join(sorted(extra))))


class Roster:
    """Reps and pools (immutable, safe to share)."""

    def __init__(self, _handle: int) -> None:
        self._h: Optional[int] = _handle

    @classmethod
    def parse(cls, text: str, filename: Optional[str] = None) -> "Roster":
        data = _enc(text) or b""
        out = c_void_p()
        _lib.leadroute_roster_parse(byref(out), data, len(data), _enc(filename), None)
        return cls(out.value)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"]) -> "Roster":
        out = c_void_p()
        _lib.leadroute_roster_load(byref(out), _path(path), None)
        return cls(out.value)  # type: ignore[arg-type]

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
        keep = _Keep()
        c_reps = (_ffi.Rep * max(len(reps), 1))()
        for i, r in enumerate(reps):
            _check_keys(r, _REP_KEYS, "rep")
            c = c_reps[i]
            c.version = _ffi.REP_VERSION
            c.id = keep.s(r.get("id"))
            c.name = keep.s(r.get("name"))
            arr, n = keep.strings(r.get("pools", ()))
            c.pools, c.pool_count = ctypes.cast(arr, POINTER(c_char_p)), n
            c.weight = float(r.get("weight", 1.0))
            c.capacity = int(r.get("capacity", 0))
            c.tier = int(r.get("tier", 0))
            skills = r.get("skills", {})
            sarr, sn = _fields_array({k: ([v] if isinstance(v, str) else list(v)) for k, v in skills.items()},
                                     keep)
            c.skills, c.skill_count = ctypes.cast(sarr, POINTER(_ffi.Field)), sn
            c.active = 1 if r.get("active", True) else 0
            c.cap_day, c.cap_week, c.cap_month = (_cap(r.get("cap_day")), _cap(r.get("cap_week")),
                                                  _cap(r.get("cap_month")))
        c_pools = (_ffi.Pool * max(len(pools), 1))()
        for i, p in enumerate(pools):
            _check_keys(p, _POOL_KEYS, "pool")
            c = c_pools[i]
            c.version = _ffi.POOL_VERSION
            c.id = keep.s(p.get("id"))
            c.strategy = _enum(_STRATEGIES, p.get("strategy", "round_robin"), "strategy")
            filters = list(p.get("filters", ()))
            farr = (_ffi.SkillFilter * max(len(filters), 1))(
                *[_ffi.SkillFilter(keep.s(f), keep.s(s)) for f, s in filters])
            keep.refs.append(farr)
            c.filters, c.filter_count = ctypes.cast(farr, POINTER(_ffi.SkillFilter)), len(filters)
            c.score_field = keep.s(p.get("score_field"))
            tiers = list(p.get("tiers", ()))
            tarr = (_ffi.TierRule * max(len(tiers), 1))(*[_ffi.TierRule(float(s), int(t)) for s, t in tiers])
            keep.refs.append(tarr)
            c.tiers, c.tier_count = ctypes.cast(tarr, POINTER(_ffi.TierRule)), len(tiers)
            c.fallback = keep.s(p.get("fallback"))
            c.on_empty = _enum(_EMPTY, p.get("on_empty", "unassigned"), "empty policy")
            c.default_owner = keep.s(p.get("default_owner"))
            c.queue = keep.s(p.get("queue"))
            c.owner_first = 1 if p.get("owner_first", False) else 0
            c.cap_day, c.cap_week, c.cap_month = (_cap(p.get("cap_day")), _cap(p.get("cap_week")),
                                                  _cap(p.get("cap_month")))
            c.sla_minutes = float(p.get("sla_minutes", 0.0))
            c.max_hops = int(p.get("max_hops", 2))
            c.escalation_pool = keep.s(p.get("escalation_pool"))
            c.escalation_owner = keep.s(p.get("escalation_owner"))
            c.calibration = _enum(_CALIBRATION, p.get("calibration", "join"), "calibration")
            c.value_field = keep.s(p.get("value_field"))
            c.value_window_days = int(p.get("value_window_days", 0))
        out = c_void_p()
        _lib.leadroute_roster_new(byref(out), c_reps, len(reps), c_pools, len(pools), None)
        return cls(out.value)  # type: ignore[arg-type]

    def _handle(self) -> int:
        if self._h is None:
            raise ValueError("roster is closed")
        return self._h

    def close(self) -> None:
        h, self._h = self._h, None
        if h is not None:
            _lib.leadroute_roster_unref(h)

    def __del__(self) -> None:
        if getattr(self, "_h", None) is not None:
            self.close()

    def __enter__(self) -> "Roster":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def reps(self) -> List[str]:
        h = self._handle()
        return [_dec(_lib.leadroute_roster_rep_id(h, i)) or "" for i in range(_lib.leadroute_roster_rep_count(h))]

    @property
    def pools(self) -> List[str]:
        h = self._handle()
        return [_dec(_lib.leadroute_roster_pool_id(h, i)) or ""
                for i in range(_lib.leadroute_roster_pool_count(h))]


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


@dataclass(frozen=True)
class Assignment:
    """An assignment as handed to the notify callback."""

    key: str
    lead_id: Optional[str]
    rep: str
    previous: Optional[str]
    pool: Optional[str]
    rule: Optional[str]
    table_hash: int
    at_ms: int
    sla_minutes: float
    deadline_ms: int
    value: float
    hops: int
    escalated: bool

    @classmethod
    def _from_c(cls, a: Any) -> "Assignment":
        return cls(_dec(a.key) or "", _dec(a.lead_id), _dec(a.rep_id) or "", _dec(a.previous), _dec(a.pool_id),
                   _dec(a.rule_id), int(a.table_hash), int(a.at_ms), float(a.sla_minutes), int(a.deadline_ms),
                   float(a.value), int(a.hops), bool(a.escalated))


class _DecisionHandle:
    def __init__(self) -> None:
        out = c_void_p()
        _lib.leadroute_decision_new(byref(out), None)
        self.h: Optional[int] = out.value

    def __del__(self) -> None:
        h, self.h = getattr(self, "h", None), None
        if h is not None:
            _lib.leadroute_decision_free(h)


def _render(call: Callable[[Any, int, Any], Any]) -> str:
    """Run a C writer of the explain kind: size it first, then fill a buffer."""
    needed = c_size_t(0)
    buf = ctypes.create_string_buffer(1024)
    call(buf, len(buf), byref(needed))
    if needed.value >= len(buf):
        buf = ctypes.create_string_buffer(needed.value + 1)
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
            cands.append(Candidate(_dec(rep.value) or "", _dec(pool.value),
                                   _VERDICTS.get(verdict.value, str(verdict.value)), _dec(detail.value)))
        return cls(
            status=_dec(_lib.leadroute_route_status_name(_lib.leadroute_decision_status(h))) or "",
            rep=_dec(_lib.leadroute_decision_rep(h)), pool=_dec(_lib.leadroute_decision_pool(h)),
            queue=_dec(_lib.leadroute_decision_queue(h)), rule=_dec(_lib.leadroute_decision_rule(h)),
            reason=_dec(_lib.leadroute_decision_reason(h)) or "", label=_dec(_lib.leadroute_decision_label(h)),
            tags=_dec(_lib.leadroute_decision_tags(h)), sla_minutes=_lib.leadroute_decision_sla_minutes(h),
            table_hash=int(_lib.leadroute_decision_table_hash(h)),
            notified=bool(_lib.leadroute_decision_notified(h)), candidates=cands, _handle=dh)

    def explain_text(self) -> str:
        h = self._handle.h
        return _render(lambda buf, cap, needed: _lib.leadroute_decision_explain(h, 1, buf, cap, needed))

    def explain_json(self) -> Dict[str, Any]:
        h = self._handle.h
        return json.loads(_render(lambda buf, cap, needed: _lib.leadroute_decision_explain(h, 2, buf, cap,
                                                                                           needed)))


NotifyCallback = Callable[[Assignment], Any]
AvailabilityCallback = Callable[[str, Optional[str], Dict[str, FieldValue], int], Any]
ClockCallback = Callable[[], int]
LookupCallback = Callable[[str], Optional[Fields]]


class Router:
    """Routes leads through a table and a roster.

    Callbacks (notify, availability, clock) are Python callables. An exception
    raised inside one is caught at the C boundary (the C call sees
    LEADROUTE_EUSER) and raised again from the Python call that led to it.
    """

    def __init__(self, table: Table, roster: Roster, *, dedupe_field: Optional[str] = None,
                 account_field: Optional[str] = None, owner_output: Optional[str] = None,
                 pool_output: Optional[str] = None, queue_output: Optional[str] = None,
                 status_output: Optional[str] = None, sla_output: Optional[str] = None,
                 tags_output: Optional[str] = None, max_retries: int = 0, captured_field: Optional[str] = None,
                 notify: Optional[NotifyCallback] = None, availability: Optional[AvailabilityCallback] = None,
                 clock: Optional[ClockCallback] = None) -> None:
        self._h: Optional[int] = None
        self._callbacks: Dict[str, Any] = {}  # CFUNCTYPE objects C may call: kept until free
        self._pending = threading.local()
        keep = _Keep()
        opts = _ffi.RouterOptions(_ffi.ROUTER_OPTIONS_VERSION, None, keep.s(dedupe_field),
                                  keep.s(account_field), keep.s(owner_output), keep.s(pool_output),
                                  keep.s(queue_output), keep.s(status_output), keep.s(sla_output),
                                  keep.s(tags_output), max_retries, keep.s(captured_field))
        out = c_void_p()
        _lib.leadroute_router_new(byref(out), table._handle(), roster._handle(), byref(opts))
        self._h = out.value
        self._table = table
        self._roster = roster
        if notify is not None:
            self.set_notify(notify)
        if availability is not None:
            self.set_availability(availability)
        if clock is not None:
            self.set_clock(clock)

    # -- lifetime --

    def _handle(self) -> int:
        if self._h is None:
            raise ValueError("router is closed")
        return self._h

    def free(self) -> None:
        """Free the C router; no thread may be routing with it."""
        h, self._h = self._h, None
        if h is not None:
            _lib.leadroute_router_free(h)
        self._callbacks.clear()

    def __del__(self) -> None:
        if getattr(self, "_h", None) is not None:
            self.free()

    def __enter__(self) -> "Router":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.free()

    # -- exceptions raised inside callbacks --

    def _stash(self, exc: BaseException) -> None:
        # Keep the first one: later ones are usually consequences.
        if getattr(self._pending, "exc", None) is None:
            self._pending.exc = exc

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        self._pending.exc = None
        try:
            rc = fn(*args)
        except LeadrouteError as err:
            exc = self._pending.exc
            self._pending.exc = None
            if exc is not None:
                raise exc from err
            raise
        exc = self._pending.exc
        self._pending.exc = None
        if exc is not None:
            raise exc
        return rc

    # -- configuration --

    @property
    def table(self) -> Table:
        return self._table

    @property
    def roster(self) -> Roster:
        return self._roster

    def set_table(self, table: Table) -> None:
        _lib.leadroute_router_set_table(self._handle(), table._handle())
        self._table = table

    def set_roster(self, roster: Roster) -> None:
        _lib.leadroute_router_set_roster(self._handle(), roster._handle())
        self._roster = roster

    def set_notify(self, fn: Optional[NotifyCallback]) -> None:
        """fn(assignment) after each successful claim; its return value is ignored."""
        if fn is None:
            _lib.leadroute_router_set_notify(self._handle(), None, None)
            self._callbacks.pop("notify", None)
            return

        def tramp(_ud: Any, a: Any) -> int:
            try:
                fn(Assignment._from_c(a.contents))
                return 0
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller
                self._stash(exc)
                return EUSER

        cfn = _ffi.NOTIFY_FN(tramp)
        st = _ffi.Notify(_ffi.NOTIFY_VERSION, cfn)
        _lib.leadroute_router_set_notify(self._handle(), byref(st), None)
        self._callbacks["notify"] = cfn

    def set_availability(self, fn: Optional[AvailabilityCallback]) -> None:
        """fn(rep_id, lead_id, fields, now_ms) -> True/None (available), False (away),
        a str (away, with that reason) or an Availability member."""
        if fn is None:
            _lib.leadroute_router_set_availability(self._handle(), None, None)
            self._callbacks.pop("availability", None)
            return

        def tramp(_ud: Any, rep: bytes, lead: Any, now_ms: int, verdict: Any, reason: int, cap: int) -> int:
            try:
                lead_id, fields = _lead_to_py(lead)
                got = fn(_dec(rep) or "", lead_id, fields, int(now_ms))
                text = b""
                if isinstance(got, Availability):
                    v = int(got)
                elif got is None or got is True:
                    v = Availability.AVAILABLE
                elif got is False:
                    v = Availability.AWAY
                elif isinstance(got, str):
                    v, text = Availability.AWAY, got.encode("utf-8")
                else:
                    raise TypeError("availability callback returned %s" % type(got).__name__)
                verdict[0] = int(v)
                if reason and cap > 0:
                    text = text[:cap - 1]
                    # Never cut a UTF-8 sequence in half.
                    text = text.decode("utf-8", "ignore").encode("utf-8")
                    ctypes.memmove(reason, text + b"\0", len(text) + 1)
                return 0
            except BaseException as exc:  # noqa: BLE001
                self._stash(exc)
                return EUSER

        cfn = _ffi.AVAILABILITY_FN(tramp)
        st = _ffi.Availability(_ffi.AVAILABILITY_VERSION, cfn)
        _lib.leadroute_router_set_availability(self._handle(), byref(st), None)
        self._callbacks["availability"] = cfn

    def set_clock(self, fn: Optional[ClockCallback]) -> None:
        """fn() -> milliseconds since the epoch. The C clock cannot fail: if fn
        raises, C gets the last good time (0 at first) and the exception is
        raised from the call that read the clock."""
        if fn is None:
            _lib.leadroute_router_set_clock(self._handle(), None, None)
            self._callbacks.pop("clock", None)
            return
        last = [0]

        def tramp(_ud: Any) -> int:
            try:
                now = int(fn())
                last[0] = now
                return now
            except BaseException as exc:  # noqa: BLE001
                self._stash(exc)
                return last[0]

        cfn = _ffi.CLOCK_FN(tramp)
        st = _ffi.Clock(_ffi.CLOCK_VERSION, cfn)
        _lib.leadroute_router_set_clock(self._handle(), byref(st), None)
        self._callbacks["clock"] = cfn

    # -- routing --

    def route(self, lead_id: Optional[str], fields: Fields, *, trace: bool = False, reassign: bool = False,
              dry_run: bool = False) -> Decision:
        """Route one lead. Raises a LeadrouteError subclass when routing failed
        (nothing was changed), or the exception a callback raised."""
        keep = _Keep()
        lead = _make_lead(lead_id, fields, keep)
        flags = (1 if trace else 0) | (2 if reassign else 0) | (4 if dry_run else 0)
        dh = _DecisionHandle()
        self._call(_lib.leadroute_route, self._handle(), byref(lead), flags, dh.h)
        return Decision._from_c(dh)

    def acknowledge(self, key: str) -> None:
        self._call(_lib.leadroute_router_acknowledge, self._handle(), _enc(key))

    def close(self, key: str) -> None:
        """The lead of `key` is closed: frees one unit of its rep's capacity."""
        self._call(_lib.leadroute_router_close, self._handle(), _enc(key))

    def tick(self, now_ms: int, lookup: Optional[LookupCallback] = None) -> Dict[str, int]:
        """Reassign or escalate overdue assignments at `now_ms`. `lookup(key)`
        may return the lead's fields so skill filters and tiers apply again."""
        cfn = None
        if lookup is not None:
            held: List[Any] = []

            def tramp(_ud: Any, key: bytes) -> Optional[int]:
                try:
                    got = lookup(_dec(key) or "")
                    if got is None:
                        return None
                    keep = _Keep()
                    lead = _make_lead(_dec(key), got, keep)
                    held[:] = [keep]  # valid until the next lookup or the end of the tick
                    return ctypes.addressof(lead)
                except BaseException as exc:  # noqa: BLE001
                    self._stash(exc)
                    return None

            cfn = _ffi.LOOKUP_FN(tramp)
        stats = _ffi.TickStats(_ffi.TICK_STATS_VERSION)
        self._call(_lib.leadroute_router_tick, self._handle(), int(now_ms),
                   cfn if cfn is not None else ctypes.cast(None, _ffi.LOOKUP_FN), None, byref(stats))
        return {"due": stats.due, "reassigned": stats.reassigned, "escalated": stats.escalated,
                "kept": stats.kept, "raced": stats.raced}

    def metrics(self) -> Dict[str, Any]:
        h = self._handle()
        return json.loads(_render(lambda buf, cap, needed: _lib.leadroute_router_metrics_json(h, buf, cap,
                                                                                              needed)))
