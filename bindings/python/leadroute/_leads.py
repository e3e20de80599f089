"""Leads read from CSV files (leads.h)."""

from __future__ import annotations

import copy
import ctypes
import os
from ctypes import byref, c_void_p
from dataclasses import dataclass, field
from typing import Any, Iterator, List, Mapping, Optional, Union

from . import _ffi
from ._table import Table
from ._values import (ADOPT, CHandle, FieldValue, Keep, Shared, adopted, check_index, dec, handle_of, lead_to_py,
                      make_lead, name_bytes, path_bytes, text_bytes)

_lib = _ffi.lib


class LeadFields(dict):  # type: ignore[type-arg]
    """A lead's fields, read-only: a change would not reach the C lead that
    routing reads. Route other fields with route(lead.id, {**lead.fields, ...})
    or a Lead made by dataclasses.replace(lead, fields=...)."""

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a lead's fields are read-only: route(lead.id, {**lead.fields, ...}) routes other ones")

    __setitem__ = __delitem__ = __ior__ = _refuse  # type: ignore[assignment]
    clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]

    def __copy__(self) -> "LeadFields":
        return self

    def __deepcopy__(self, memo: Any) -> "LeadFields":
        return LeadFields(copy.deepcopy(dict(self), memo))

    def __reduce__(self) -> Any:
        return (LeadFields, (dict(self),))


@dataclass(frozen=True)
class Lead:
    """One lead: id, fields (read-only), source line. A lead of a Leads file
    hands the library its own C lead when routed or evaluated, without
    copying; one made otherwise (dataclasses.replace() of one) is converted
    from its id and fields."""

    id: str
    fields: Mapping[str, FieldValue]
    line: int
    _owner: Optional["Leads"] = field(default=None, init=False, repr=False, compare=False)
    _index: int = field(default=-1, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.fields, LeadFields):
            object.__setattr__(self, "fields", LeadFields(self.fields))

    def _pointer(self, keep: Keep) -> Any:
        if self._owner is None:
            return ctypes.pointer(make_lead(self.id, self.fields, keep))
        h = self._owner._handle()
        keep.refs.append(h)  # the leads stay while the call that reads this one runs
        return self._owner._lead_ptr(h, self._index)


@dataclass(frozen=True)
class SkippedRow:
    """A row that could not be a lead, and why ("file:line: message")."""

    line: int
    message: str


class Leads(Shared):
    """Leads read from CSV text (immutable; any number of threads may read it)."""

    _what = "leads"
    _gone = "are freed"

    def __init__(self, _handle: int, table: Optional[Table], _key: Any = None) -> None:
        adopted(_key, "Leads", "Leads.parse() or Leads.load()")
        self._own(_handle, _lib.leadroute_leads_free)
        self._table = table  # C holds its own reference; kept for clarity

    @classmethod
    def parse(cls, text: Union[str, bytes], filename: Optional[str] = None,
              table: Optional[Table] = None) -> "Leads":
        """Read CSV text. Columns the `table` reads as sets become sets.
        Rows that cannot be a lead are skipped and listed in `skipped`."""
        data = text if isinstance(text, bytes) else text_bytes(text)
        out = c_void_p()
        _lib.leadroute_leads_parse(byref(out), data, len(data), name_bytes(filename),
                                   handle_of(table, Table, "table") if table is not None else None, None)
        return cls(out.value, table, ADOPT)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"], table: Optional[Table] = None) -> "Leads":
        out = c_void_p()
        th = handle_of(table, Table, "table") if table is not None else None
        _lib.leadroute_leads_load(byref(out), path_bytes(path), th, None)
        return cls(out.value, table, ADOPT)  # type: ignore[arg-type]

    def free(self) -> None:
        """Let go of the leads: a call in progress that reads them (another
        thread routing one of them) keeps them until it returns."""
        self._drop()

    def __enter__(self) -> "Leads":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.free()

    def __len__(self) -> int:
        return int(_lib.leadroute_leads_count(self._handle()))

    def _lead_ptr(self, h: CHandle, index: int) -> Any:
        """The C lead at `index`, valid while the caller holds `h`."""
        p = _lib.leadroute_leads_get(h, index)
        if not p:
            raise IndexError("lead index out of range")
        return p

    def __getitem__(self, index: int) -> Lead:
        h = self._handle()
        index = check_index(index, int(_lib.leadroute_leads_count(h)), "lead")
        lead_id, fields = lead_to_py(self._lead_ptr(h, index))
        lead = Lead(lead_id or "", fields, int(_lib.leadroute_leads_line(h, index)))
        object.__setattr__(lead, "_owner", self)
        object.__setattr__(lead, "_index", index)
        return lead

    def __iter__(self) -> Iterator[Lead]:
        for i in range(len(self)):
            yield self[i]

    @property
    def skipped(self) -> List[SkippedRow]:
        h = self._handle()
        return [SkippedRow(int(_lib.leadroute_leads_error_line(h, i)), dec(_lib.leadroute_leads_error(h, i)) or "")
                for i in range(_lib.leadroute_leads_error_count(h))]


def lead_pointer(lead: Any, lead_id: Optional[str], keep: Keep) -> Any:
    """A `const leadroute_lead *` for a Lead of a Leads file or a mapping of fields."""
    if isinstance(lead, Lead):
        return lead._pointer(keep)
    c_lead = make_lead(lead_id, lead, keep)
    return ctypes.pointer(c_lead)


def validate_lead(fields: Any, lead_id: Optional[str] = None) -> None:
    """Check a whole lead (UTF-8, lengths, finite numbers, set sizes, duplicate
    names) as leadroute_lead_validate() does; raise LeadError naming the field."""
    keep = Keep()
    _lib.leadroute_lead_validate(lead_pointer(fields, lead_id, keep))


def utf8_valid(data: Union[bytes, bytearray]) -> bool:
    """True if `data` is valid UTF-8 by the library's rules."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("utf8_valid takes bytes, got %s" % type(data).__name__)
    b = bytes(data)
    return bool(_lib.leadroute_utf8_valid(b, len(b)))
