"""Loading of libleadroute and every C declaration the package uses."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_int, c_int64, c_size_t,
                    c_uint32, c_uint64, c_void_p)
from typing import Any

from ._errors import raise_last

SONAME = "libleadroute.so.1"
# Releases that this package speaks: the same major, at least this minor.
MAJOR = 0
MIN_MINOR = 1


def _load() -> ctypes.CDLL:
    """LEADROUTE_LIBRARY (an exact path), then the soname, then the linker's search."""
    path = os.environ.get("LEADROUTE_LIBRARY")
    if path:
        try:
            return ctypes.CDLL(path)
        except OSError as exc:
            raise ImportError("LEADROUTE_LIBRARY=%s cannot be loaded: %s" % (path, exc)) from None
    try:
        return ctypes.CDLL(SONAME)
    except OSError:
        found = ctypes.util.find_library("leadroute")
        if found is None:
            raise ImportError("libleadroute not found: install it or set LEADROUTE_LIBRARY to its path") from None
        return ctypes.CDLL(found)


lib = _load()

# ---- structs (layouts of include/leadroute/*.h, the current version of each) -------


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


class TableOptions(Structure):
    _fields_ = [("version", c_uint32), ("flags", c_uint32), ("allocator", c_void_p), ("max_memory", c_size_t)]


class Rule(Structure):
    _fields_ = [("version", c_uint32), ("id", c_char_p), ("inputs", POINTER(c_char_p)),
                ("input_count", c_size_t), ("outputs", POINTER(c_char_p)), ("output_count", c_size_t)]


class Diagnostic(Structure):
    _fields_ = [("version", c_uint32), ("kind", c_uint32), ("rule_id", c_char_p), ("line", c_uint32),
                ("other_rule_id", c_char_p), ("other_line", c_uint32), ("witness", c_char_p),
                ("message", c_char_p)]


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


class Commit(Structure):
    # `flags` came with version 2: a commit of an older library ends before it (read it only when
    # version >= 2)
    _fields_ = [("version", c_uint32), ("assignment", POINTER(Assignment)), ("pool_id", c_char_p),
                ("expected_version", c_uint64), ("state", c_void_p), ("state_length", c_size_t),
                ("capacity", c_uint32), ("account_key", c_char_p),
                ("flags", c_uint32)]


# Output buffers are c_void_p (plain addresses) so the callbacks can write into them.
EACH_FN = CFUNCTYPE(c_int, c_void_p, POINTER(Assignment))
LOAD_POOL_FN = CFUNCTYPE(c_int, c_void_p, c_char_p, c_void_p, c_size_t, POINTER(c_size_t), POINTER(c_uint64))
FIND_CLAIM_FN = CFUNCTYPE(c_int, c_void_p, c_char_p, c_void_p, c_size_t)
OPEN_COUNT_FN = CFUNCTYPE(c_int, c_void_p, c_char_p, POINTER(c_uint32))
COMMIT_FN = CFUNCTYPE(c_int, c_void_p, POINTER(Commit), c_void_p, c_size_t)
CLOSE_FN = CFUNCTYPE(c_int, c_void_p, c_char_p)
WINDOW_FN = CFUNCTYPE(c_int, c_void_p, c_char_p, c_char_p, c_int64, POINTER(c_uint64), POINTER(c_double))
ACKNOWLEDGE_FN = CFUNCTYPE(c_int, c_void_p, c_char_p, c_int64, POINTER(c_int64), c_void_p, c_size_t, c_void_p,
                           c_size_t)
LIST_DUE_FN = CFUNCTYPE(c_int, c_void_p, c_int64, EACH_FN, c_void_p)


class Store(Structure):
    _fields_ = [("version", c_uint32), ("load_pool", LOAD_POOL_FN), ("find_claim", FIND_CLAIM_FN),
                ("open_count", OPEN_COUNT_FN), ("commit", COMMIT_FN), ("close", CLOSE_FN),
                ("window", WINDOW_FN), ("acknowledge", ACKNOWLEDGE_FN), ("list_due", LIST_DUE_FN)]


NOTIFY_FN = CFUNCTYPE(c_int, c_void_p, POINTER(Assignment))
AVAILABILITY_FN = CFUNCTYPE(c_int, c_void_p, c_char_p, POINTER(Lead), c_int64, POINTER(c_uint32), c_void_p,
                            c_size_t)
CLOCK_FN = CFUNCTYPE(c_int64, c_void_p)
# Returns a `const leadroute_lead *`; c_void_p so a plain address can be returned.
LOOKUP_FN = CFUNCTYPE(c_void_p, c_void_p, c_char_p)
LOOKUP_FAILED = 1  # LEADROUTE_LOOKUP_FAILED
MAX_FIELDS = 1024  # LEADROUTE_MAX_FIELDS: a lead with more is one the library cannot read


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
                ("tags_output", c_char_p), ("max_retries", c_uint32), ("captured_field", c_char_p),
                ("dedupe_fold", c_uint32)]


class TickStats(Structure):
    _fields_ = [("version", c_uint32), ("due", c_uint64), ("reassigned", c_uint64), ("escalated", c_uint64),
                ("kept", c_uint64), ("raced", c_uint64), ("failed", c_uint64)]


class LatencyStats(Structure):
    _fields_ = [("version", c_uint32), ("count", c_uint64), ("mean_ms", c_double), ("p50_ms", c_double),
                ("p90_ms", c_double), ("p99_ms", c_double)]


VALUE_VERSION = 1
LEAD_VERSION = 1
TABLE_OPTIONS_VERSION = 1
RULE_VERSION = 1
DIAGNOSTIC_VERSION = 1
REP_VERSION = 1
POOL_VERSION = 1
ASSIGNMENT_VERSION = 1
COMMIT_VERSION = 2
COMMIT_FOLLOW_UP = 0x1  # leadroute_commit.flags: a tick moves an overdue lead
STORE_VERSION = 1
NOTIFY_VERSION = 1
AVAILABILITY_VERSION = 1
CLOCK_VERSION = 1
ROUTER_OPTIONS_VERSION = 2
TICK_STATS_VERSION = 2
LATENCY_STATS_VERSION = 1
NO_CAP = 0xFFFFFFFF
INT64_MAX = 2 ** 63 - 1
SIZE_MAX = ctypes.c_size_t(-1).value
# Room for any id or key the library accepts (LEADROUTE_MAX_STRING) plus a prefix.
ID_BUFFER = 4096 + 16

OK = 0
EINVAL = -1
ENOMEM = -3
ERANGE = -8
ENOTFOUND = -11
EUSER = -12
ENOTSUP = -13
ECONFLICT = -14
EEXISTS = -15
ECALLBACK = -16

# ---- functions ------------------------------------------------------------------


def _check(result: int, func: Any, args: Any) -> int:
    """errcheck for calls returning an error code: raise on a negative one."""
    if result < 0:
        raise_last(result, lib.leadroute_error_last().contents)
    return result


def _decl(name: str, restype: Any, *argtypes: Any, check: bool = False) -> Any:
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    if check:
        fn.errcheck = _check
    return fn


P = c_void_p  # opaque handles
PP = POINTER(c_void_p)

# common.h, value.h
_decl("leadroute_error_last", POINTER(Error))
_decl("leadroute_error_clear", None)
_decl("leadroute_strerror", c_char_p, c_int)
_decl("leadroute_version_number", c_int)
_decl("leadroute_version_string", c_char_p)
_decl("leadroute_value_init", c_int, POINTER(Value), c_uint32, check=True)
_decl("leadroute_lead_init", c_int, POINTER(Lead), c_uint32, check=True)
_decl("leadroute_lead_validate", c_int, POINTER(Lead), check=True)
_decl("leadroute_utf8_valid", c_int, c_char_p, c_size_t)

# table.h
_decl("leadroute_table_options_init", c_int, POINTER(TableOptions), c_uint32, check=True)
_decl("leadroute_rule_init", c_int, POINTER(Rule), c_uint32, check=True)
_decl("leadroute_table_parse", c_int, PP, c_char_p, c_size_t, c_char_p, POINTER(TableOptions), check=True)
_decl("leadroute_table_load", c_int, PP, c_char_p, POINTER(TableOptions), check=True)
_decl("leadroute_table_builder_new", c_int, PP, POINTER(TableOptions), check=True)
_decl("leadroute_table_builder_free", None, P)
_decl("leadroute_table_builder_set", c_int, P, c_char_p, c_char_p, check=True)
_decl("leadroute_table_builder_add_input", c_int, P, c_char_p, c_uint32, c_uint32, check=True)
_decl("leadroute_table_builder_add_output", c_int, P, c_char_p, c_uint32, check=True)
_decl("leadroute_table_builder_add_rule", c_int, P, POINTER(Rule), check=True)
_decl("leadroute_table_builder_build", c_int, PP, P, check=True)
_decl("leadroute_table_ref", P, P)
_decl("leadroute_table_unref", None, P)
_decl("leadroute_table_name", c_char_p, P)
_decl("leadroute_table_version", c_char_p, P)
_decl("leadroute_table_hash", c_uint64, P)
_decl("leadroute_table_hit_policy", c_uint32, P)
_decl("leadroute_table_aggregation", c_uint32, P)
_decl("leadroute_table_memory", c_size_t, P)
_decl("leadroute_table_rule_count", c_size_t, P)
_decl("leadroute_table_rule_id", c_char_p, P, c_size_t)
_decl("leadroute_table_rule_line", c_uint32, P, c_size_t)
_decl("leadroute_table_rule_output", POINTER(Value), P, c_size_t, c_size_t)
_decl("leadroute_table_input_count", c_size_t, P)
_decl("leadroute_table_input_name", c_char_p, P, c_size_t)
_decl("leadroute_table_input_type", c_uint32, P, c_size_t)
_decl("leadroute_table_output_count", c_size_t, P)
_decl("leadroute_table_output_name", c_char_p, P, c_size_t)
_decl("leadroute_table_output_type", c_uint32, P, c_size_t)
_decl("leadroute_table_output_index", c_int, P, c_char_p, check=True)
_decl("leadroute_table_diagnostic_count", c_size_t, P)
_decl("leadroute_table_diagnostic", c_int, P, c_size_t, POINTER(Diagnostic), check=True)
_decl("leadroute_diagnostic_kind_name", c_char_p, c_uint32)
_decl("leadroute_diagnostic_is_notice", c_int, c_uint32)
_decl("leadroute_result_new", c_int, PP, P, c_void_p, check=True)
_decl("leadroute_result_reserve", c_int, P, P, check=True)
_decl("leadroute_result_free", None, P)
# no errcheck: a hit-policy violation still lists the conflicting rules
_decl("leadroute_table_eval", c_int, P, POINTER(Lead), P)
_decl("leadroute_result_count", c_size_t, P)
_decl("leadroute_result_rule", c_size_t, P, c_size_t)
_decl("leadroute_result_rule_id", c_char_p, P, c_size_t)
_decl("leadroute_result_output", POINTER(Value), P, c_size_t, c_size_t)
_decl("leadroute_result_aggregate", POINTER(Value), P, c_size_t)

# leads.h
_decl("leadroute_leads_parse", c_int, PP, c_char_p, c_size_t, c_char_p, P, c_void_p, check=True)
_decl("leadroute_leads_load", c_int, PP, c_char_p, P, c_void_p, check=True)
_decl("leadroute_leads_free", None, P)
_decl("leadroute_leads_count", c_size_t, P)
_decl("leadroute_leads_get", POINTER(Lead), P, c_size_t)
_decl("leadroute_leads_line", c_uint32, P, c_size_t)
_decl("leadroute_leads_error_count", c_size_t, P)
_decl("leadroute_leads_error", c_char_p, P, c_size_t)
_decl("leadroute_leads_error_line", c_uint32, P, c_size_t)

# router.h: rosters
_decl("leadroute_rep_init", c_int, POINTER(Rep), c_uint32, check=True)
_decl("leadroute_pool_init", c_int, POINTER(Pool), c_uint32, check=True)
_decl("leadroute_roster_new", c_int, PP, POINTER(Rep), c_size_t, POINTER(Pool), c_size_t, c_void_p, check=True)
_decl("leadroute_roster_parse", c_int, PP, c_char_p, c_size_t, c_char_p, c_void_p, check=True)
_decl("leadroute_roster_load", c_int, PP, c_char_p, c_void_p, check=True)
_decl("leadroute_roster_ref", P, P)
_decl("leadroute_roster_unref", None, P)
_decl("leadroute_roster_rep_count", c_size_t, P)
_decl("leadroute_roster_rep_id", c_char_p, P, c_size_t)
_decl("leadroute_roster_pool_count", c_size_t, P)
_decl("leadroute_roster_pool_id", c_char_p, P, c_size_t)
# Added in a later 0.1 build: declared where the library has them.
HAS_ROSTER_ENTRIES = hasattr(lib, "leadroute_roster_rep") and hasattr(lib, "leadroute_roster_pool")
if HAS_ROSTER_ENTRIES:
    _decl("leadroute_roster_rep", c_int, P, c_size_t, POINTER(Rep), check=True)
    _decl("leadroute_roster_pool", c_int, P, c_size_t, POINTER(Pool), check=True)

# router.h: routers
_decl("leadroute_router_options_init", c_int, POINTER(RouterOptions), c_uint32, check=True)
_decl("leadroute_router_new", c_int, PP, P, P, POINTER(RouterOptions), check=True)
_decl("leadroute_router_free", None, P)
_decl("leadroute_router_fork", c_int, PP, P, check=True)
_decl("leadroute_router_set_table", c_int, P, P, check=True)
_decl("leadroute_router_set_roster", c_int, P, P, check=True)
_decl("leadroute_router_set_store", c_int, P, POINTER(Store), c_void_p, check=True)
_decl("leadroute_router_set_notify", c_int, P, POINTER(Notify), c_void_p, check=True)
_decl("leadroute_router_set_availability", c_int, P, POINTER(Availability), c_void_p, check=True)
_decl("leadroute_router_set_clock", c_int, P, POINTER(Clock), c_void_p, check=True)
_decl("leadroute_router_acknowledge", c_int, P, c_char_p, check=True)
_decl("leadroute_router_close", c_int, P, c_char_p, check=True)
_decl("leadroute_router_pending_count", c_size_t, P)
_decl("leadroute_router_pending", c_int, P, c_size_t, c_void_p, c_size_t, c_void_p, c_size_t)
_decl("leadroute_router_pending_discard", c_int, P, c_char_p, POINTER(c_size_t), check=True)
_decl("leadroute_router_retry_notifications", c_int, P, POINTER(c_size_t))
_decl("leadroute_router_tick", c_int, P, c_int64, LOOKUP_FN, c_void_p, POINTER(TickStats), check=True)
_decl("leadroute_router_list_due", c_int, P, c_int64, EACH_FN, c_void_p, check=True)
_decl("leadroute_router_metrics_json", c_int, P, c_void_p, c_size_t, POINTER(c_size_t), check=True)
_decl("leadroute_router_rep_assigned", c_uint64, P, c_char_p)
_decl("leadroute_router_rule_hits", c_uint64, P, c_size_t)
_decl("leadroute_router_unrouted", c_uint64, P, c_uint32)
_decl("leadroute_router_pool_fairness", c_int, P, c_char_p, POINTER(c_double), POINTER(c_double), check=True)
_decl("leadroute_router_latency", c_int, P, c_char_p, c_char_p, c_uint32, POINTER(LatencyStats), check=True)

# router.h: decisions
_decl("leadroute_decision_new", c_int, PP, c_void_p, check=True)
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
    return int(lib.leadroute_version_number())


def check_version(number: int) -> None:
    """Refuse a library of another major release, or an older minor one."""
    major, minor = number // 10000, (number // 100) % 100
    if major != MAJOR or minor < MIN_MINOR:
        raise ImportError("libleadroute %d.%d.%d is not compatible with this package (needs %d.%d or a later %d.x)"
                          % (major, minor, number % 100, MAJOR, MIN_MINOR, MAJOR))


check_version(version_number())
