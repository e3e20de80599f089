"""Stores written in Python: the leadroute_store vtable as a base class, and
MemoryStore, a dict-based reference implementation of the store contract
(include/leadroute/router.h, docs/router.md "Store contract")."""

from __future__ import annotations

import bisect
import ctypes
import math
import operator
import threading
import time
from ctypes import byref
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Tuple

from . import _ffi
from ._errors import ConflictError, ExistsError, InvalidArgumentError, LeadrouteError, NotFoundError
from ._values import Keep, check_i64, check_int, copy_out, dec, out_bytes, stash

_lib = _ffi.lib
_U32_MAX = 0xFFFFFFFF


@dataclass(frozen=True)
class Assignment:
    """An assignment, as handed to notify and to a store's commit, and as a
    store lists it in list_due (with `history`, earlier reps oldest first,
    and `acknowledged_ms`)."""

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
    history: Tuple[str, ...] = ()
    acknowledged_ms: int = 0

    @classmethod
    def _from_c(cls, a: Any) -> "Assignment":
        history = tuple(dec(a.history[i]) or "" for i in range(a.history_count)) if a.history else ()
        return cls(dec(a.key) or "", dec(a.lead_id), dec(a.rep_id) or "", dec(a.previous), dec(a.pool_id),
                   dec(a.rule_id), int(a.table_hash), int(a.at_ms), float(a.sla_minutes), int(a.deadline_ms),
                   float(a.value), int(a.hops), bool(a.escalated), history, int(a.acknowledged_ms))

    def _to_c(self, keep: Keep) -> _ffi.Assignment:
        a = _ffi.Assignment()
        a.version = _ffi.ASSIGNMENT_VERSION
        a.key, a.lead_id, a.rep_id = keep.s(self.key), keep.s(self.lead_id), keep.s(self.rep)
        a.previous, a.pool_id, a.rule_id = keep.s(self.previous), keep.s(self.pool), keep.s(self.rule)
        # out of their C range: ValueError here, not a number wrapped in C
        a.table_hash = check_int(self.table_hash, "assignment table_hash", 0, 2**64 - 1)
        a.at_ms, a.sla_minutes = check_i64(self.at_ms, "assignment at_ms"), float(self.sla_minutes)
        a.deadline_ms = check_i64(self.deadline_ms, "assignment deadline_ms")
        a.value, a.hops = float(self.value), check_int(self.hops, "assignment hops", 0, 2**32 - 1)
        a.escalated = 1 if self.escalated else 0
        if self.history:
            a.history, a.history_count = keep.strings(self.history)
        a.acknowledged_ms = check_i64(self.acknowledged_ms, "assignment acknowledged_ms")
        keep.refs.append(a)
        return a


@dataclass(frozen=True)
class Commit:
    """One atomic write (leadroute_commit): see Store.commit."""

    assignment: Assignment
    pool_id: Optional[str]     # None: no pool state to write
    expected_version: int
    state: bytes
    capacity: int              # the rep's cap on open leads, 0 = none (a least-loaded pick: at most
                               # one more than the lowest open count it read of the other reps)
    account_key: Optional[str]
    # A tick moving an overdue lead (LEADROUTE_COMMIT_FOLLOW_UP): it gives way to a close or an
    # acknowledgement made since the lead came due (see Store.commit, step 3).
    follow_up: bool = False

    @classmethod
    def _from_c(cls, c: Any) -> "Commit":
        state = ctypes.string_at(c.state, c.state_length) if c.state_length else b""
        # a version 1 commit has no flags member: reading it would read past the C struct
        flags = int(c.flags) if c.version >= 2 else 0
        return cls(Assignment._from_c(c.assignment.contents), dec(c.pool_id), int(c.expected_version), state,
                   int(c.capacity), dec(c.account_key), bool(flags & _ffi.COMMIT_FOLLOW_UP))


class Store:
    """Base class of a store written in Python (the leadroute_store vtable).

    The first five methods are required. window, acknowledge and list_due are
    optional: a subclass that does not override them leaves them out of the
    vtable (rosters with caps or value-balanced pools, acknowledgements and
    ticks then fail with UnsupportedError). Methods run on the routing
    threads, several at once when threads share a router: make them
    thread-safe. They must not call the router.

    Answers the contract defines are given by raising: ConflictError and
    ExistsError(owner=...) from commit, NotFoundError from close and
    acknowledge, ExistsError from a second acknowledge. Any other exception
    fails the router call (CallbackError in C) and is raised again, chained,
    from the Python call that led to it.
    """

    def load_pool(self, pool_id: str) -> Tuple[bytes, int]:
        """The pool's strategy state and its version; (b"", 0) for a pool never written."""
        raise NotImplementedError

    def find_claim(self, key: str) -> Optional[str]:
        """The rep id holding `key`, or None."""
        raise NotImplementedError

    def open_count(self, rep_id: str) -> int:
        """Open leads of a rep (0 if unknown): the count commit checks capacity against, as it is
        now, since least-loaded picks are committed on what it said."""
        raise NotImplementedError

    def commit(self, commit: Commit) -> None:
        """Everything or nothing, in one transaction:
        1. if commit.pool_id is set, its version must be commit.expected_version, else raise ConflictError;
        2. if commit.capacity > 0, the rep must have fewer open leads, else raise ConflictError;
        3. the key must be free or held by assignment.previous, else raise ExistsError(owner=holder);
           with commit.follow_up (a tick moving an overdue lead) it must be held by previous exactly,
           not acknowledged, and still due at assignment.at_ms (deadline set and not later), else
           raise ExistsError(owner=holder, or "" when the key is free): the lead was closed,
           acknowledged or assigned again after the tick listed it, and the move must not undo that;
        4. write the state with version expected_version + 1, move the claim to the rep, one more open
           lead for it (one fewer for previous if it held the key), record the assignment (a
           reassignment appends previous to the history and clears the acknowledgement), claim
           account_key for the rep unless someone holds it."""
        raise NotImplementedError

    def close(self, key: str) -> None:
        """Release the claim of `key` and one open lead of its holder; NotFoundError if not claimed,
        or claimed for an account (an account claim stays with its first owner)."""
        raise NotImplementedError

    def window(self, rep_id: Optional[str], pool_id: Optional[str], since_ms: int) -> Tuple[int, float]:
        """Optional. Assignments committed at or after since_ms to rep_id (pool_id None) or from
        pool_id (rep_id None): (count, summed value)."""
        raise NotImplementedError

    def acknowledge(self, key: str, at_ms: int) -> Tuple[int, str, str]:
        """Optional. The holder acknowledged `key` at at_ms: record at_ms, or assigned_ms if later
        (an acknowledgement never precedes its assignment), and return (assigned_ms, rep_id, pool_id
        or ""). NotFoundError if not claimed; ExistsError if acknowledged before (keep the first)."""
        raise NotImplementedError

    def list_due(self, now_ms: int) -> Iterable[Assignment]:
        """Optional. Claimed, unacknowledged assignments whose deadline is set and <= now_ms."""
        raise NotImplementedError


_OPTIONAL = ("window", "acknowledge", "list_due")
_REQUIRED = ("load_pool", "find_claim", "open_count", "commit", "close")


def _provides(store: Any, name: str) -> bool:
    method = getattr(store, name, None)
    if not callable(method):
        return False
    if isinstance(store, Store):
        return getattr(type(store), name, None) is not getattr(Store, name)
    return True


def _guard(protocol: Tuple[int, ...], body: Any) -> Any:
    """Wrap a store method for C: a LeadrouteError whose code the contract
    defines for this method is an answer; anything else is stored for the
    Python caller and reported to C as an error code."""

    def tramp(*args: Any) -> int:
        try:
            return body(*args)
        except LeadrouteError as exc:
            code = exc.code if exc.code < 0 else _ffi.EUSER
            if code not in protocol:
                stash(exc)
            return code
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller
            stash(exc)
            return _ffi.EUSER

    return tramp


def store_vtable(store: Any) -> Tuple[_ffi.Store, List[Any]]:
    """The C vtable for a Python store, and the callback objects C will call
    (to be kept alive as long as C may call them)."""
    if isinstance(store, type):
        raise TypeError("store must be a Store instance, not the class %s" % store.__name__)
    for name in _REQUIRED:
        if not _provides(store, name):
            raise TypeError("store lacks the required method %s()" % name)

    def load_pool(_ud: Any, pool_id: bytes, buf: Optional[int], cap: int, length: Any, version: Any) -> int:
        state, ver = store.load_pool(dec(pool_id) or "")
        if isinstance(state, str):
            data = state.encode("utf-8")
        elif isinstance(state, (bytes, bytearray, memoryview)):
            data = bytes(state)
        else:  # bytes(5) would be five zero bytes
            raise TypeError("load_pool must return (bytes, version), got a state of %s" % type(state).__name__)
        ver = check_int(ver, "load_pool's version", 0, 2**64 - 1)
        length[0] = len(data)
        version[0] = ver
        if data and len(data) <= cap and buf:
            ctypes.memmove(buf, data, len(data))
        return _ffi.OK

    def find_claim(_ud: Any, key: bytes, buf: Optional[int], cap: int) -> int:
        rep = store.find_claim(dec(key) or "")
        if rep is None:
            return _ffi.ENOTFOUND
        data = out_bytes(rep, "find_claim's rep")
        if len(data) >= cap:
            return _ffi.ERANGE
        copy_out(buf, cap, rep, "find_claim's rep")
        return _ffi.OK

    def open_count(_ud: Any, rep_id: bytes, count: Any) -> int:
        n = store.open_count(dec(rep_id) or "")
        try:  # an integer of any kind (numpy's too), not a bool, a float or text
            if isinstance(n, bool):
                raise TypeError
            n = operator.index(n)
        except TypeError:
            raise TypeError("open_count must return an integer, got %s" % type(n).__name__) from None
        count[0] = max(0, min(n, _U32_MAX))  # past the range: as many as a count can say
        return _ffi.OK

    def commit(_ud: Any, c: Any, owner: Optional[int], owner_cap: int) -> int:
        try:
            store.commit(Commit._from_c(c.contents))
        except ExistsError as exc:
            copy_out(owner, owner_cap, exc.owner if exc.owner is not None else "", "ExistsError's owner")
            return _ffi.EEXISTS
        return _ffi.OK

    def close(_ud: Any, key: bytes) -> int:
        store.close(dec(key) or "")
        return _ffi.OK

    def window(_ud: Any, rep_id: Optional[bytes], pool_id: Optional[bytes], since_ms: int, count: Any,
               value: Any) -> int:
        n, v = store.window(dec(rep_id), dec(pool_id), int(since_ms))
        count[0] = check_int(n, "window's count", 0, 2**64 - 1)
        v = float(v)
        if not math.isfinite(v):
            raise ValueError("window's value must be a finite number, got %r" % v)
        value[0] = v
        return _ffi.OK

    def acknowledge(_ud: Any, key: bytes, at_ms: int, assigned_ms: Any, rep_buf: Optional[int], rep_cap: int,
                    pool_buf: Optional[int], pool_cap: int) -> int:
        at, rep, pool = store.acknowledge(dec(key) or "", int(at_ms))
        if assigned_ms:
            assigned_ms[0] = check_i64(at, "acknowledge's assigned time")
        copy_out(rep_buf, rep_cap, rep if rep is not None else "", "acknowledge's rep")
        copy_out(pool_buf, pool_cap, pool if pool is not None else "", "acknowledge's pool")
        return _ffi.OK

    def list_due(_ud: Any, now_ms: int, each: Any, ctx: Optional[int]) -> int:
        for a in store.list_due(int(now_ms)):
            keep = Keep()
            rc = each(ctx, byref(a._to_c(keep)))
            if rc != 0:
                return int(rc)
        return _ffi.OK

    vt = _ffi.Store()
    vt.version = _ffi.STORE_VERSION
    refs: List[Any] = []
    methods = {
        "load_pool": (_ffi.LOAD_POOL_FN, load_pool, ()),
        "find_claim": (_ffi.FIND_CLAIM_FN, find_claim, (_ffi.ENOTFOUND,)),
        "open_count": (_ffi.OPEN_COUNT_FN, open_count, ()),
        "commit": (_ffi.COMMIT_FN, commit, (_ffi.ECONFLICT, _ffi.EEXISTS)),
        "close": (_ffi.CLOSE_FN, close, (_ffi.ENOTFOUND,)),
        "window": (_ffi.WINDOW_FN, window, ()),
        "acknowledge": (_ffi.ACKNOWLEDGE_FN, acknowledge, (_ffi.ENOTFOUND, _ffi.EEXISTS)),
        "list_due": (_ffi.LIST_DUE_FN, list_due, ()),
    }
    for name, (proto, body, answers) in methods.items():
        if name in _OPTIONAL and not _provides(store, name):
            continue  # NULL in the vtable: not provided
        cfn = proto(_guard(answers, body))
        setattr(vt, name, cfn)
        refs.append(cfn)
    refs.append(store)
    return vt, refs


# ---- MemoryStore ----------------------------------------------------------------

# Windows reach back 31 days at most (the longest value window).
_WINDOW_MS = 31 * 24 * 60 * 60 * 1000


class _Log:
    """Assignment times and values in time order, kept while a window can
    reach them. A window's sum is taken with math.fsum over its values, so
    that small deals beside very large ones are not lost (the built-in store
    keeps compensated running sums for the same reason)."""

    __slots__ = ("times", "values")

    def __init__(self) -> None:
        self.times: List[int] = []
        self.values: List[float] = []

    @staticmethod
    def _cutoff(at_ms: int) -> int:
        # entries before this are past every window of the one who adds an
        # entry at `at_ms`: the window before that entry, or before this
        # machine's clock if that is earlier. Not before the newest entry:
        # one entry from a clock far ahead would put every entry added after
        # it with a router's own clock out of every window (the built-in
        # store's rule, router.h's `window`)
        return min(at_ms, int(time.time() * 1000)) - _WINDOW_MS

    def add(self, at_ms: int, value: float) -> None:
        p = bisect.bisect_right(self.times, at_ms)  # after entries of the same time
        self.times.insert(p, at_ms)
        self.values.insert(p, value)
        drop = bisect.bisect_left(self.times, self._cutoff(at_ms))
        if drop:
            del self.times[:drop]
            del self.values[:drop]

    def query(self, since_ms: int) -> Tuple[int, float]:
        first = bisect.bisect_left(self.times, since_ms)
        return len(self.times) - first, math.fsum(self.values[first:])


class _Claim:
    __slots__ = ("rep", "counted", "record")

    def __init__(self, rep: str, counted: bool, record: Optional[Dict[str, Any]]) -> None:
        self.rep = rep
        self.counted = counted  # True: an open lead of `rep`; False: an account claim
        self.record = record    # the lead's assignment record, None for accounts


class MemoryStore(Store):
    """A thread-safe store in Python dicts, one lock around every method.

    A reference for hosts writing their own store (SQL, Redis, ...): it keeps
    what the contract asks and nothing else: pool states with versions,
    claims (lead and account keys -> rep id), open-lead counts, assignment
    records (for acknowledge and list_due) and per-rep and per-pool logs of
    assignment times and values (for window, 31 days deep).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pools: Dict[str, Tuple[int, bytes]] = {}
        self._claims: Dict[str, _Claim] = {}
        self._open: Dict[str, int] = {}
        self._rep_logs: Dict[str, _Log] = {}
        self._pool_logs: Dict[str, _Log] = {}
        self.commits = 0  # successful commits, for tests and metrics

    # -- inspection (not part of the contract) --

    @property
    def claims(self) -> Dict[str, str]:
        """Every claim, key -> rep id (leads as "lead:<key>", accounts as "account:<domain>")."""
        with self._lock:
            return {k: c.rep for k, c in self._claims.items()}

    @property
    def open_counts(self) -> Dict[str, int]:
        with self._lock:
            return dict(self._open)

    # -- the contract --

    def load_pool(self, pool_id: str) -> Tuple[bytes, int]:
        with self._lock:
            version, state = self._pools.get(pool_id, (0, b""))
        return state, version

    def find_claim(self, key: str) -> Optional[str]:
        with self._lock:
            claim = self._claims.get(key)
            return claim.rep if claim is not None else None

    def open_count(self, rep_id: str) -> int:
        with self._lock:
            return self._open.get(rep_id, 0)

    def commit(self, commit: Commit) -> None:
        a = commit.assignment
        with self._lock:
            # 1. the pool state has not moved since it was read
            if commit.pool_id is not None:
                current = self._pools.get(commit.pool_id, (0, b""))[0]
                if current != commit.expected_version:
                    raise ConflictError("pool %r is at version %d, expected %d"
                                        % (commit.pool_id, current, commit.expected_version))
            # 2. the rep has room
            if commit.capacity > 0 and self._open.get(a.rep, 0) >= commit.capacity:
                raise ConflictError("rep %r has reached the commit's capacity of %d open leads" % (a.rep, commit.capacity))
            # 3. the key is free or held by the previous rep
            held = self._claims.get(a.key)
            if held is not None and (a.previous is None or held.rep != a.previous):
                raise ExistsError("key %r is held by %r" % (a.key, held.rep), owner=held.rep)
            #    a tick's move: moot once the lead was closed or acknowledged since it came due
            if commit.follow_up and a.previous is not None:
                if held is None:
                    raise ExistsError("key %r was closed since it came due" % a.key, owner="")
                if held.record is not None and held.record["acknowledged_ms"] != 0:
                    raise ExistsError("key %r was acknowledged since it came due" % a.key, owner=held.rep)
                if held.record is not None and not 0 < held.record["deadline_ms"] <= a.at_ms:
                    raise ExistsError("key %r was assigned again since it came due" % a.key, owner=held.rep)
            # 4. every write; nothing above changed anything
            history: List[str] = []
            if a.previous is not None:
                if held is not None and held.record is not None:
                    history = list(held.record["history"])
                history.append(a.previous)
            if commit.pool_id is not None:
                self._pools[commit.pool_id] = (commit.expected_version + 1, bytes(commit.state))
            record = {"lead_id": a.lead_id, "pool": a.pool, "rule": a.rule, "table_hash": a.table_hash,
                      "at_ms": a.at_ms, "sla_minutes": a.sla_minutes, "deadline_ms": a.deadline_ms,
                      "value": a.value, "hops": a.hops, "escalated": a.escalated, "history": tuple(history),
                      "acknowledged_ms": 0}
            self._claims[a.key] = _Claim(a.rep, True, record)
            self._open[a.rep] = self._open.get(a.rep, 0) + 1
            # a previous rep who closed the lead meanwhile gave its open lead back then
            if held is not None and held.counted and a.previous is not None:
                self._open[a.previous] = self._open.get(a.previous, 0) - 1
            if commit.account_key is not None and commit.account_key != a.key \
                    and commit.account_key not in self._claims:
                self._claims[commit.account_key] = _Claim(a.rep, False, None)
            self._rep_logs.setdefault(a.rep, _Log()).add(a.at_ms, a.value)
            pool = a.pool if a.pool is not None else commit.pool_id
            if pool is not None:
                self._pool_logs.setdefault(pool, _Log()).add(a.at_ms, a.value)
            self.commits += 1

    def close(self, key: str) -> None:
        with self._lock:
            claim = self._claims.get(key)
            if claim is None or not claim.counted:  # an account's claim stays with its first owner
                raise NotFoundError("key %r is not claimed" % key)
            del self._claims[key]
            self._open[claim.rep] = self._open.get(claim.rep, 0) - 1

    def window(self, rep_id: Optional[str], pool_id: Optional[str], since_ms: int) -> Tuple[int, float]:
        if (rep_id is None) == (pool_id is None):
            raise InvalidArgumentError("window: give a rep id or a pool id, not both nor neither")
        with self._lock:
            log = self._rep_logs.get(rep_id) if rep_id is not None else self._pool_logs.get(pool_id or "")
            return log.query(since_ms) if log is not None else (0, 0.0)

    def acknowledge(self, key: str, at_ms: int) -> Tuple[int, str, str]:
        if at_ms <= 0:
            raise InvalidArgumentError("acknowledge: the time must be > 0 (ms since the epoch)")
        with self._lock:
            claim = self._claims.get(key)
            if claim is None or not claim.counted or claim.record is None:
                raise NotFoundError("no lead of key %r is claimed" % key)
            record = claim.record
            if record["acknowledged_ms"] != 0:
                raise ExistsError("key %r was acknowledged before" % key, owner=claim.rep)
            record["acknowledged_ms"] = max(at_ms, record["at_ms"])
            return record["at_ms"], claim.rep, record["pool"] or ""

    def list_due(self, now_ms: int) -> List[Assignment]:
        due = []
        with self._lock:
            for key, claim in self._claims.items():
                r = claim.record
                if not claim.counted or r is None or r["acknowledged_ms"] != 0:
                    continue
                if r["deadline_ms"] == 0 or r["deadline_ms"] > now_ms:
                    continue
                due.append(Assignment(key, r["lead_id"], claim.rep, None, r["pool"], r["rule"], r["table_hash"],
                                      r["at_ms"], r["sla_minutes"], r["deadline_ms"], r["value"], r["hops"],
                                      r["escalated"], r["history"], r["acknowledged_ms"]))
        return due  # `each` runs with no lock held
