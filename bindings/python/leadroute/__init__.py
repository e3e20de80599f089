"""Python bindings (ctypes) for libleadroute: decision tables and the lead router.

The C library is found through LEADROUTE_LIBRARY (exact path), then the soname
libleadroute.so.1, then ctypes.util.find_library('leadroute'); its major
version must match this package's (checked at import).

Every C error becomes an exception named after its code (ParseError for
LEADROUTE_EPARSE, ...; all derive from LeadrouteError and carry `code` and the
C message). Callbacks written in Python (store, notify, availability, clock,
tick lookup) may raise: the exception is raised again from the Python call
that triggered it. When it made that call fail (a store or an availability
callback), it is chained to the CallbackError C reported; when the call went
on without it (a notify, whose notification stays pending; a clock, whose
last good time was used; a tick's lookup, whose lead stays due), there is no
CallbackError, and the call's outcome stands (Router.route, Router.tick).

C function                                     Python
---------------------------------------------  ---------------------------------------------------
leadroute_version_number/_string               version_number(), version()
leadroute_strerror                             strerror(code)
leadroute_error_last/_clear                    the exceptions (message, file, line, column)
leadroute_value_init, lead_init                used to build every lead from a dict of fields
leadroute_lead_validate                        validate_lead(fields, lead_id)
leadroute_utf8_valid                           utf8_valid(data)
leadroute_allocator_init                       not exposed: objects use the library's malloc/free
leadroute_table_options_init                   Table.parse/load(lint=, max_memory=), TableBuilder()
leadroute_table_parse/_load                    Table.parse(text, filename), Table.load(path)
leadroute_table_builder_new/_free              TableBuilder(), .free() / with-block
leadroute_table_builder_set/_add_input/        .set(key, value), .add_input(name, type, case_insensitive=),
  _add_output/_add_rule/_build, rule_init        .add_output(name, type), .add_rule(inputs, outputs, id), .build()
leadroute_table_ref/_unref                     Table.copy(), Table.close() / garbage collection
leadroute_table_name/_version/_hash/           Table.name, .version, .hash, .hit_policy, .aggregation,
  _hit_policy/_aggregation/_memory               .memory
leadroute_table_rule_count/_id/_line/_output   Table.rules, Table.rule_lines, Table.rule_outputs
leadroute_table_input_*/_output_*              Table.inputs, .input_types, .outputs, .output_types,
                                                 .output_index(name)
leadroute_table_diagnostic_count/_diagnostic   Table.diagnostics, Table.lint() -> [Diagnostic]
leadroute_diagnostic_kind_name/_is_notice      Diagnostic.kind, Diagnostic.notice
leadroute_result_new/_reserve/_free            Evaluator(table), Evaluator.evaluate(lead, table=)
leadroute_table_eval, result_count/_rule/      Table.evaluate(lead) -> Matches [Match(rule, outputs, index)],
  _rule_id/_output/_aggregate                    Matches.aggregate; HitPolicyError.matches
leadroute_leads_parse/_load/_free              Leads.parse(text, filename, table), Leads.load(path, table)
leadroute_leads_count/_get/_line               len(leads), leads[i] -> Lead(id, fields, line), iteration
leadroute_leads_error_count/_error/_error_line Leads.skipped -> [SkippedRow(line, message)]
leadroute_rep_init, pool_init, roster_new      Roster.from_dicts(reps, pools)
leadroute_roster_parse/_load/_ref/_unref       Roster.parse(text), Roster.load(path), .copy(), .close()
leadroute_roster_rep_count/_rep_id/_pool_*     Roster.reps, Roster.pools
leadroute_roster_rep/_pool                     Roster.rep(id), Roster.pool(id), Roster.to_dicts()
leadroute_router_options_init, router_new      Router(table, roster, dedupe_field=..., store=, notify=, ...)
leadroute_router_free, router_fork             Router.free() / with-block, Router.fork()
leadroute_router_set_table/_roster             Router.set_table(), Router.set_roster()
leadroute_router_set_store                     Router.set_store(Store) (Store, MemoryStore)
leadroute_router_set_notify/_availability/     Router.set_notify(fn), .set_availability(fn), .set_clock(fn)
  _clock
leadroute_decision_new/_free, route            Router.route(lead_id, fields | lead, trace=, reassign=, dry_run=)
leadroute_decision_* getters, status_name      Decision.status, .rep, .pool, ..., .candidates
leadroute_decision_explain                     Decision.explain_text(), .explain_json(), .trace() (dict)
leadroute_router_close                         Router.close(key)
leadroute_router_acknowledge                   Router.acknowledge(key)
leadroute_router_tick                          Router.tick(now_ms, lookup) -> stats dict
leadroute_router_list_due                      Router.list_due(now_ms) -> [Assignment]
leadroute_router_pending_count/_pending        Router.pending_count(), Router.pending() -> [(key, rep)]
leadroute_router_pending_discard               Router.discard_pending(key) -> dropped
leadroute_router_retry_notifications           Router.retry_notifications() -> delivered
leadroute_router_metrics_json                  Router.metrics() -> dict
leadroute_router_rep_assigned/_rule_hits/      Router.rep_assigned(rep), .rule_hits(rule), .unrouted(reason),
  _unrouted/_pool_fairness/_latency              .pool_fairness(pool) -> Fairness, .latency(...) -> LatencyStats
"""

from __future__ import annotations

from . import _ffi
from ._errors import (CallbackError, ConflictError, ExistsError, HitPolicyError, InvalidArgumentError,
                      LeadError, LeadrouteError, LeadrouteIOError, LimitError, NotFoundError,
                      OutOfMemoryError, ParseError, RangeError, TableError, UnsupportedError, UserError,
                      VersionError)
from ._leads import Lead, Leads, SkippedRow, utf8_valid, validate_lead
from ._router import (Availability, Candidate, Decision, Fairness, LatencyStats, Roster, Router)
from ._store import Assignment, Commit, MemoryStore, Store
from ._table import Diagnostic, Evaluator, Match, Matches, Table, TableBuilder
from ._values import check_int

__all__ = [
    "Table", "TableBuilder", "Evaluator", "Match", "Matches", "Diagnostic",
    "Leads", "Lead", "SkippedRow", "validate_lead", "utf8_valid",
    "Roster", "Router", "Decision", "Candidate", "Assignment", "Availability", "Fairness", "LatencyStats",
    "Store", "MemoryStore", "Commit",
    "version", "version_number", "strerror",
    "LeadrouteError", "InvalidArgumentError", "VersionError", "OutOfMemoryError", "ParseError", "TableError",
    "LeadError", "HitPolicyError", "RangeError", "LeadrouteIOError", "LimitError", "NotFoundError",
    "UserError", "UnsupportedError", "ConflictError", "ExistsError", "CallbackError",
]


def version() -> str:
    """Version string of the loaded C library, e.g. "0.1.0"."""
    return _ffi.lib.leadroute_version_string().decode()


def version_number() -> int:
    """Version of the loaded C library as major * 10000 + minor * 100 + patch."""
    return _ffi.version_number()


def strerror(code: int) -> str:
    """Static English text for an error code."""
    return _ffi.lib.leadroute_strerror(check_int(code, "code", -2**31, 2**31 - 1)).decode()
