"""Decision tables: parse, build, lint, evaluate."""

from __future__ import annotations

import os
from ctypes import byref, c_void_p
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Union

from . import _ffi
from ._errors import HitPolicyError, raise_last
from ._values import (ADOPT, CHandle, FieldValue, Keep, Owner, Shared, adopted, check_int, dec, enum_value,
                      handle_of, name_bytes, need, path_bytes, str_list, text_bytes, to_flag, value_to_py)

_lib = _ffi.lib

COLUMN_TYPES = {"string": 1, "number": 2, "bool": 3, "set": 4}
_TYPE_NAMES = {v: k for k, v in COLUMN_TYPES.items()}
HIT_POLICIES = {1: "first", 2: "unique", 3: "any", 4: "priority", 5: "rule_order", 6: "output_order",
                7: "collect"}
AGGREGATIONS = {0: None, 1: "sum", 2: "count", 3: "min", 4: "max"}
_NO_LINT = 0x1
_CASE_INSENSITIVE = 0x1


def _options(lint: bool, max_memory: int) -> _ffi.TableOptions:
    opts = _ffi.TableOptions()
    _lib.leadroute_table_options_init(byref(opts), _ffi.TABLE_OPTIONS_VERSION)
    if not to_flag(lint, "lint"):
        opts.flags |= _NO_LINT
    opts.max_memory = check_int(max_memory, "max_memory", 0, 2**64 - 1)
    return opts


@dataclass(frozen=True)
class Match:
    """One hit of an evaluation: the rule id, its outputs by column name, its index."""

    rule: str
    outputs: Dict[str, FieldValue]
    index: int = -1


class Matches(List[Match]):
    """The hits of one evaluation, in the hit policy's order. `aggregate` is set
    for COLLECT tables with an aggregation: output name -> aggregated value."""

    aggregate: Optional[Dict[str, FieldValue]] = None


@dataclass(frozen=True)
class Diagnostic:
    """One lint diagnostic (leadroute_table_diagnostic): a finding, or a notice
    (notice True: what lint could not settle or keep, not a fault of the table)."""

    kind: str                 # shadowed, overlap, no_match, unlisted_priority, no_match_undecided,
                              # shadowed_undecided, overlap_undecided, truncated
    rule: Optional[str]
    line: int
    other_rule: Optional[str]
    other_line: int
    witness: Optional[str]    # an example lead "field=value; ..." or None
    message: str
    notice: bool = False      # leadroute_diagnostic_is_notice


class Table(Shared):
    """A compiled decision table (immutable, safe to share between threads)."""

    _what = "table"

    def __init__(self, _handle: int, _key: Any = None) -> None:
        # Made by Table.parse(), Table.load() or TableBuilder.build(); the handle's reference moves here.
        adopted(_key, "Table", "Table.parse(), Table.load() or TableBuilder.build()")
        self._own(_handle, _lib.leadroute_table_unref)

    @classmethod
    def parse(cls, text: str, filename: Optional[str] = None, *, lint: bool = True,
              max_memory: int = 0) -> "Table":
        """Parse CSV text (docs/table-format.md). lint=False skips lint (huge tables);
        max_memory caps the compiled index in bytes (0 = 1 GiB)."""
        data = text_bytes(text)
        out = c_void_p()
        opts = _options(lint, max_memory)
        _lib.leadroute_table_parse(byref(out), data, len(data), name_bytes(filename), byref(opts))
        return cls(out.value, ADOPT)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"], *, lint: bool = True, max_memory: int = 0) -> "Table":
        out = c_void_p()
        opts = _options(lint, max_memory)
        _lib.leadroute_table_load(byref(out), path_bytes(path), byref(opts))
        return cls(out.value, ADOPT)  # type: ignore[arg-type]

    def close(self) -> None:
        """Drop this object's reference; routers and lead files using the table
        keep theirs, and a call in progress on another thread keeps the table
        until it returns."""
        self._drop()

    def __enter__(self) -> "Table":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def copy(self) -> "Table":
        """Another reference to the same compiled table, closed on its own."""
        return Table(_lib.leadroute_table_ref(self._handle()), ADOPT)

    # -- properties --

    @property
    def name(self) -> str:
        h = self._handle()  # held while the name is read
        return dec(_lib.leadroute_table_name(h)) or ""

    @property
    def version(self) -> str:
        h = self._handle()
        return dec(_lib.leadroute_table_version(h)) or ""

    @property
    def hash(self) -> int:
        return int(_lib.leadroute_table_hash(self._handle()))

    @property
    def hit_policy(self) -> str:
        return HIT_POLICIES.get(_lib.leadroute_table_hit_policy(self._handle()), "unknown")

    @property
    def aggregation(self) -> Optional[str]:
        return AGGREGATIONS.get(_lib.leadroute_table_aggregation(self._handle()))

    @property
    def memory(self) -> int:
        """Bytes of memory the compiled table uses."""
        return int(_lib.leadroute_table_memory(self._handle()))

    @property
    def rules(self) -> List[str]:
        h = self._handle()
        return [dec(_lib.leadroute_table_rule_id(h, i)) or "" for i in range(_lib.leadroute_table_rule_count(h))]

    @property
    def rule_lines(self) -> Dict[str, int]:
        """Rule id -> source line (0 for built tables)."""
        h = self._handle()
        return {dec(_lib.leadroute_table_rule_id(h, i)) or "": int(_lib.leadroute_table_rule_line(h, i))
                for i in range(_lib.leadroute_table_rule_count(h))}

    @property
    def rule_outputs(self) -> Dict[str, Dict[str, FieldValue]]:
        """Rule id -> {output name: value} as each rule gives it (None for an empty cell)."""
        h = self._handle()
        names = self.outputs
        out: Dict[str, Dict[str, FieldValue]] = {}
        for i in range(_lib.leadroute_table_rule_count(h)):
            values = {}
            for j, name in enumerate(names):
                v = _lib.leadroute_table_rule_output(h, i, j)
                values[name] = value_to_py(v.contents) if v else None
            out[dec(_lib.leadroute_table_rule_id(h, i)) or ""] = values
        return out

    @property
    def inputs(self) -> List[str]:
        h = self._handle()
        return [dec(_lib.leadroute_table_input_name(h, i)) or ""
                for i in range(_lib.leadroute_table_input_count(h))]

    @property
    def input_types(self) -> Dict[str, str]:
        """Input column -> "string", "number", "bool" or "set"."""
        h = self._handle()
        return {dec(_lib.leadroute_table_input_name(h, i)) or "":
                _TYPE_NAMES.get(_lib.leadroute_table_input_type(h, i), "unknown")
                for i in range(_lib.leadroute_table_input_count(h))}

    @property
    def outputs(self) -> List[str]:
        h = self._handle()
        return [dec(_lib.leadroute_table_output_name(h, i)) or ""
                for i in range(_lib.leadroute_table_output_count(h))]

    @property
    def output_types(self) -> Dict[str, str]:
        h = self._handle()
        return {dec(_lib.leadroute_table_output_name(h, i)) or "":
                _TYPE_NAMES.get(_lib.leadroute_table_output_type(h, i), "unknown")
                for i in range(_lib.leadroute_table_output_count(h))}

    def output_index(self, name: str) -> int:
        """Position of output column `name`; NotFoundError if there is none."""
        return int(_lib.leadroute_table_output_index(self._handle(), need(name, "name")))

    @property
    def diagnostics(self) -> List[Diagnostic]:
        """Lint findings made when the table was compiled (none with lint=False)."""
        h = self._handle()
        found = []
        for i in range(_lib.leadroute_table_diagnostic_count(h)):
            d = _ffi.Diagnostic()
            d.version = _ffi.DIAGNOSTIC_VERSION
            _lib.leadroute_table_diagnostic(h, i, byref(d))
            found.append(Diagnostic(dec(_lib.leadroute_diagnostic_kind_name(d.kind)), dec(d.rule_id), int(d.line),
                                    dec(d.other_rule_id), int(d.other_line), dec(d.witness),
                                    dec(d.message) or "", _lib.leadroute_diagnostic_is_notice(d.kind) == 1))
        return found

    def lint(self) -> List[Diagnostic]:
        """Same as `diagnostics`."""
        return self.diagnostics

    def evaluate(self, lead: Any, lead_id: Optional[str] = None) -> Matches:
        """Evaluate one lead (a mapping of field name -> value, or a Lead of a
        Leads file) with the table's hit policy. A UNIQUE or ANY violation
        raises HitPolicyError whose `matches` lists the conflicting rules."""
        return Evaluator(self).evaluate(lead, lead_id)


class Evaluator(Owner):
    """A reusable evaluation result (leadroute_result): evaluating many leads
    through one allocates nothing per lead. One thread at a time."""

    _what = "evaluator"
    _gone = "is freed"

    def __init__(self, table: Table) -> None:
        out = c_void_p()
        _lib.leadroute_result_new(byref(out), handle_of(table, Table, "table"), None)
        self._own(out.value, _lib.leadroute_result_free)
        self._table = table.copy()  # a reference of its own: the default table
        self._last = self._table    # the table the result's outputs point into

    def evaluate(self, lead: Any, lead_id: Optional[str] = None, table: Optional[Table] = None) -> Matches:
        """Evaluate against `table` (default: the evaluator's own, given when
        it was made; passing `table` does not change that default), growing
        the result if needed."""
        from ._leads import lead_pointer
        res = self._handle()
        t = self._table
        if table is not None and handle_of(table, Table, "table")._as_parameter_ != t._handle()._as_parameter_:
            _lib.leadroute_result_reserve(res, table._handle())
            t = table
        if t._handle()._as_parameter_ != self._last._handle()._as_parameter_:
            # results point into the table evaluated last: hold a reference
            self._last = t if t is self._table else t.copy()
        t = self._last
        th = t._handle()
        keep = Keep()
        ptr = lead_pointer(lead, lead_id, keep)
        rc = _lib.leadroute_table_eval(th, ptr, res)
        if rc < 0:
            err_struct = _lib.leadroute_error_last().contents
            try:
                raise_last(rc, err_struct)
            except HitPolicyError as exc:
                exc.matches = self._matches(t, res)  # type: ignore[attr-defined]
                raise
        return self._matches(t, res)

    def _matches(self, t: Table, res: CHandle) -> Matches:
        # `t` is the evaluator's own reference: the outputs read point into it
        names = t.outputs
        found = Matches()
        for i in range(_lib.leadroute_result_count(res)):
            outs = {}
            for j, name in enumerate(names):
                v = _lib.leadroute_result_output(res, i, j)
                outs[name] = value_to_py(v.contents) if v else None
            found.append(Match(dec(_lib.leadroute_result_rule_id(res, i)) or "", outs,
                               int(_lib.leadroute_result_rule(res, i))))
        if t.aggregation is not None:
            agg: Dict[str, FieldValue] = {}
            for j, name in enumerate(names):
                v = _lib.leadroute_result_aggregate(res, j)
                agg[name] = value_to_py(v.contents) if v else None
            found.aggregate = agg
        return found


class TableBuilder(Owner):
    """Build a table from rules given as cells (the CSV cell syntax), not text."""

    _what = "builder"
    _gone = "is freed"

    def __init__(self, *, lint: bool = True, max_memory: int = 0) -> None:
        out = c_void_p()
        opts = _options(lint, max_memory)
        _lib.leadroute_table_builder_new(byref(out), byref(opts))
        self._own(out.value, _lib.leadroute_table_builder_free)

    def free(self) -> None:
        self._drop()

    def __enter__(self) -> "TableBuilder":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.free()

    def set(self, key: str, value: str) -> "TableBuilder":
        """A `#! key: value` directive: hit_policy, aggregation, name, version, priority."""
        _lib.leadroute_table_builder_set(self._handle(), need(key, "key"), need(value, "value"))
        return self

    def add_input(self, name: str, type: str = "string", *, case_insensitive: bool = False) -> "TableBuilder":
        _lib.leadroute_table_builder_add_input(self._handle(), need(name, "name"), _column_type(type),
                                               _CASE_INSENSITIVE if to_flag(case_insensitive, "case_insensitive")
                                               else 0)
        return self

    def add_output(self, name: str, type: str = "string") -> "TableBuilder":
        _lib.leadroute_table_builder_add_output(self._handle(), need(name, "name"), _column_type(type))
        return self

    def add_rule(self, inputs: Sequence[Optional[str]], outputs: Sequence[Optional[str]],
                 id: Optional[str] = None) -> "TableBuilder":
        """One rule: a cell per input column ("-", ">= 90", ...; None = any) and per output."""
        keep = Keep()
        rule = _ffi.Rule()
        _lib.leadroute_rule_init(byref(rule), _ffi.RULE_VERSION)
        rule.id = keep.s(id)
        rule.inputs, rule.input_count = keep.strings(str_list(inputs, "a rule's inputs"))
        rule.outputs, rule.output_count = keep.strings(str_list(outputs, "a rule's outputs"))
        _lib.leadroute_table_builder_add_rule(self._handle(), byref(rule))
        return self

    def build(self) -> Table:
        """Compile what the builder holds into a new table; the builder stays usable."""
        out = c_void_p()
        _lib.leadroute_table_builder_build(byref(out), self._handle())
        return Table(out.value, ADOPT)  # type: ignore[arg-type]


def _column_type(t: Union[str, int]) -> int:
    return enum_value(COLUMN_TYPES, t, "column type")
