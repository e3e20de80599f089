"""Loading of libleadroute and every C declaration the package uses."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_int, c_int64, c_size_t,
                    c_uint32, c_uint64, c_void_p)

from ._errors import raise_last

SONAME = "libleadroute.so.1"
# Releases 0.x that this package speaks: the same major, at least this minor.
MAJOR = 0
MIN_MINOR = 1


def _load() -> ctypes.CDLL:
    path = os.environ.get("LEADROUTE_LIBRARY")
    if path:
        return ctypes.CDLL(path)
    try:
        return ctypes.CDLL(SONAME)
    except OSError:
        found = ctypes.util.find_library("leadroute")
        if found is None:
            raise ImportError("libleadroute not found: set LEADROUTE_LIBRARY to its path") from None
        return ctypes.CDLL(found)


lib = _load()

# ---- structs --------------------------------------------------------------


class Error(Structure):
    _fields_ = [("code", c_int), ("message", c_char_p), ("file", c_char_p), ("line", c_uint32),
                ("column", c_uint32)]


class Value(Structure):
    _fields_ = [("version", c_uint32), ("type", c_uint32), ("string", c_char_p), ("number", c_double),
                ("boolean", c_int), ("items", POINTER(c_char_p)), ("item_count", c_size_t)]


class Field(Structure):
    _fields_ = [("name", c_char_p), ("value", Value)]


class Lead(Structure):
    _fields_ = [("version", c_uint32), ("id", c_char_p), ("fields", POINTER(Field)),
                ("field_count", c_size_t)]


class Rep(Structure):
    _fields_ = [("version", c_uint32), ("id", c_char_p), ("name", c_char_p), ("pools", POINTER(c_char_p)),
                ("pool_count", c_size_t), ("weight", c_double), ("capacity", c_uint32), ("tier", c_uint32),
                ("skills", POINTER(Field)), ("skill_count", c_size_t), ("active", c_int),
                ("cap_day", c_uint32), ("cap_week", c_uint32), ("cap_month", c_uint32)]


class SkillFilter(Structure):
    _fields_ = [("field", c_char_p), ("skill", c_char_p)]


class TierRule(Structure):
    _fields_ = [("min_score", c_double), ("min_tier", c_uint32)]


class Pool(Structure):
    _fields_ = [("version", c_uint32), ("id", c_char_p), ("strategy", c_uint32),
                ("filters", POINTER(SkillFilter)), ("filter_count", c_size_t), ("score_field", c_char_p),
                ("tiers", POINTER(TierRule)), ("tier_count", c_size_t), ("fallback", c_char_p),
                ("on_empty", c_uint32), ("default_owner", c_char_p), ("queue", c_char_p),
                ("owner_first", c_int), ("cap_day", c_uint32), ("cap_week", c_uint32),
                ("cap_month", c_uint32), ("sla_minutes", c_double), ("max_hops", c_uint32),
                ("escalation_pool", c_char_p), ("escalation_owner", c_char_p), ("calibration", c_uint32),
                ("value_field", c_char_p), ("value_window_days", c_uint32)]


class Assignment(Structure):
    _fields_ = [("version", c_uint32), ("key", c_char_p), ("lead_id", c_char_p), ("rep_id", c_char_p),
                ("previous", c_char_p), ("pool_id", c_char_p), ("rule_id", c_char_p),
                ("table_hash", c_uint64), ("at_ms", c_int64), ("sla_minutes", c_double),
                ("deadline_ms", c_int64), ("value", c_double), ("hops", c_uint32), ("escalated", c_int),
                ("history", POINTER(c_char_p)), ("history_count", c_size_t), ("acknowledged_ms", c_int64)]


NOTIFY_FN = CFUNCTYPE(c_int, c_void_p, POINTER(Assignment))
AVAILABILITY_FN = CFUNCTYPE(c_int, c_void_p, c_char_p, POINTER(Lead), c_int64, POINTER(c_uint32), c_void_p,
                            c_size_t)
CLOCK_FN = CFUNCTYPE(c_int64, c_void_p)
# Returns a `const leadroute_lead *`; c_void_p so a plain address can be returned.
LOOKUP_FN = CFUNCTYPE(c_void_p, c_void_p, c_char_p)


class Notify(Structure):
    _fields_ = [("version", c_uint32), ("assigned", NOTIFY_FN)]


class Availability(Structure):
    _fields_ = [("version", c_uint32), ("check", AVAILABILITY_FN)]


class Clock(Structure):
    _fields_ = [("version", c_uint32), ("now_ms", CLOCK_FN)]


class RouterOptions(Structure):
    _fields_ = [("version", c_uint32), ("allocator", c_void_p), ("dedupe_field", c_char_p),
                ("account_field", c_char_p), ("owner_output", c_char_p), ("pool_output", c_char_p),
                ("queue_output", c_char_p), ("status_output", c_char_p), ("sla_output", c_char_p),
                ("tags_output", c_char_p), ("max_retries", c_uint32), ("captured_field", c_char_p)]


class TickStats(Structure):
    _fields_ = [("version", c_uint32), ("due", c_uint64), ("reassigned", c_uint64), ("escalated", c_uint64),
                ("kept", c_uint64), ("raced", c_uint64)]


VALUE_VERSION = 1
LEAD_VERSION = 1
REP_VERSION = 1
POOL_VERSION = 1
NOTIFY_VERSION = 1
AVAILABILITY_VERSION = 1
CLOCK_VERSION = 1
ROUTER_OPTIONS_VERSION = 1
TICK_STATS_VERSION = 1
NO_CAP = 0xFFFFFFFF

# ---- functions --------------------------------------------------------------


def _check(result, func, args):
    """errcheck for calls returning an error code: raise on a negative one."""
    if result < 0:
        raise_last(result, lib.leadroute_error_last().contents)
    return result


def _decl(name, restype, *argtypes, check=False):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    if check:
        fn.errcheck = _check
    return fn


P = c_void_p  # opaque handles
_decl("leadroute_error_last", POINTER(Error))
_decl("leadroute_error_clear", None)
_decl("leadroute_strerror", c_char_p, c_int)
_decl("leadroute_version_number", c_int)
_decl("leadroute_version_string", c_char_p)

_decl("leadroute_table_parse", c_int, POINTER(P), c_char_p, c_size_t, c_char_p, c_void_p, check=True)
_decl("leadroute_table_load", c_int, POINTER(P), c_char_p, c_void_p, check=True)
_decl("leadroute_table_ref", P, P)
_decl("leadroute_table_unref", None, P)
_decl("leadroute_table_name", c_char_p, P)
_decl("leadroute_table_version", c_char_p, P)
_decl("leadroute_table_hash", c_uint64, P)
_decl("leadroute_table_rule_count", c_size_t, P)
_decl("leadroute_table_rule_id", c_char_p, P, c_size_t)
_decl("leadroute_table_input_count", c_size_t, P)
_decl("leadroute_table_input_name", c_char_p, P, c_size_t)
_decl("leadroute_table_output_count", c_size_t, P)
_decl("leadroute_table_output_name", c_char_p, P, c_size_t)
_decl("leadroute_result_new", c_int, POINTER(P), P, c_void_p, check=True)
_decl("leadroute_result_free", None, P)
_decl("leadroute_table_eval", c_int, P, POINTER(Lead), P, check=True)
_decl("leadroute_result_count", c_size_t, P)
_decl("leadroute_result_rule_id", c_char_p, P, c_size_t)
_decl("leadroute_result_output", POINTER(Value), P, c_size_t, c_size_t)

_decl("leadroute_roster_new", c_int, POINTER(P), POINTER(Rep), c_size_t, POINTER(Pool), c_size_t, c_void_p,
      check=True)
_decl("leadroute_roster_parse", c_int, POINTER(P), c_char_p, c_size_t, c_char_p, c_void_p, check=True)
_decl("leadroute_roster_load", c_int, POINTER(P), c_char_p, c_void_p, check=True)
_decl("leadroute_roster_unref", None, P)
_decl("leadroute_roster_rep_count", c_size_t, P)
_decl("leadroute_roster_rep_id", c_char_p, P, c_size_t)
_decl("leadroute_roster_pool_count", c_size_t, P)
_decl("leadroute_roster_pool_id", c_char_p, P, c_size_t)

_decl("leadroute_router_new", c_int, POINTER(P), P, P, POINTER(RouterOptions), check=True)
_decl("leadroute_router_free", None, P)
_decl("leadroute_router_set_table", c_int, P, P, check=True)
_decl("leadroute_router_set_roster", c_int, P, P, check=True)
_decl("leadroute_router_set_notify", c_int, P, POINTER(Notify), c_void_p, check=True)
_decl("leadroute_router_set_availability", c_int, P, POINTER(Availability), c_void_p, check=True)
_decl("leadroute_router_set_clock", c_int, P, POINTER(Clock), c_void_p, check=True)
_decl("leadroute_router_acknowledge", c_int, P, c_char_p, check=True)
_decl("leadroute_router_close", c_int, P, c_char_p, check=True)
_decl("leadroute_router_tick", c_int, P, c_int64, LOOKUP_FN, c_void_p, POINTER(TickStats), check=True)
_decl("leadroute_router_metrics_json", c_int, P, c_void_p, c_size_t, POINTER(c_size_t), check=True)

_decl("leadroute_decision_new", c_int, POINTER(P), c_void_p, check=True)
_decl("leadroute_decision_free", None, P)
_decl("leadroute_route", c_int, P, POINTER(Lead), c_uint32, P, check=True)
_decl("leadroute_decision_status", c_uint32, P)
_decl("leadroute_route_status_name", c_char_p, c_uint32)
for _getter in ("rep", "pool", "queue", "rule", "reason", "label", "tags"):
    _decl("leadroute_decision_" + _getter, c_char_p, P)
_decl("leadroute_decision_sla_minutes", c_double, P)
_decl("leadroute_decision_table_hash", c_uint64, P)
_decl("leadroute_decision_notified", c_int, P)
_decl("leadroute_decision_candidate_count", c_size_t, P)
_decl("leadroute_decision_candidate", c_int, P, c_size_t, POINTER(c_char_p), POINTER(c_char_p),
      POINTER(c_uint32), POINTER(c_char_p), check=True)
_decl("leadroute_decision_explain", c_int, P, c_int, c_void_p, c_size_t, POINTER(c_size_t), check=True)


def version_number() -> int:
    return lib.leadroute_version_number()


_v = version_number()
if _v // 10000 != MAJOR or (_v // 100) % 100 < MIN_MINOR:
    raise ImportError("libleadroute %s is not compatible with this package (needs %d.%d or a later %d.x)"
                      % (lib.leadroute_version_string().decode(), MAJOR, MIN_MINOR, MAJOR))
