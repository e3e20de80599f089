"""Conversions between Python values and the C structs, and the hand-over of
exceptions raised inside callbacks."""

from __future__ import annotations

import ctypes
import numbers
import operator
import os
import threading
from ctypes import POINTER, c_char_p
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from . import _ffi
from ._errors import LeadrouteError

_lib = _ffi.lib

FieldValue = Union[str, float, int, bool, None, Sequence[str]]
Fields = Mapping[str, FieldValue]

VALUE_NULL, VALUE_STRING, VALUE_NUMBER, VALUE_BOOL, VALUE_SET = range(5)


def enc(s: Optional[str]) -> Optional[bytes]:
    if s is None:
        return None
    if not isinstance(s, str):
        raise TypeError("expected str, got %s" % type(s).__name__)
    if "\0" in s:
        # a C string would end there: "a\0b" and "a\0c" would be one id
        raise ValueError("string holds a NUL character, where a C string would end: %r" % s[:60])
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError("string holds a lone surrogate (U+%04X at index %d), which is not text UTF-8 can hold: %r"
                         % (ord(s[err.start]), err.start, s[:60])) from None


def text_bytes(text: Any, what: str = "text") -> bytes:
    """The text of a file to parse: a str (None is no text, a TypeError).
    It goes to C with its length, so a NUL is no end of it, and lone
    surrogates (a file read with errors="surrogateescape") go as the bytes
    they stand for: the parser reports either at its line and column, and
    a leads file skips just that row."""
    if not isinstance(text, str):
        raise TypeError("%s must be a str, got %s" % (what, type(text).__name__))
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")  # a surrogate no byte stands for: invalid UTF-8 all the same


def name_bytes(filename: Any) -> Optional[bytes]:
    """A file name for messages: None, a str or a path."""
    if filename is None:
        return None
    if isinstance(filename, os.PathLike):
        filename = os.fspath(filename)
        if isinstance(filename, bytes):
            filename = os.fsdecode(filename)
    return enc(filename)


def need(s: Any, what: str) -> bytes:
    """enc() of a string C requires (None is a TypeError, not NULL)."""
    if s is None:
        raise TypeError("%s must be a str, got NoneType" % what)
    return enc(s)  # type: ignore[return-value]


def dec(b: Optional[bytes]) -> Optional[str]:
    return None if b is None else b.decode("utf-8", "replace")


def path_bytes(p: Union[str, "os.PathLike[str]"]) -> bytes:
    b = os.fsencode(p)
    if b"\0" in b:
        raise ValueError("path holds a NUL character: %r" % p)
    return b


def handle_of(obj: Any, cls: type, what: str) -> "CHandle":
    """The C handle of `obj`, which must be a `cls`: C cannot tell a table
    from a roster, so a wrong object would be read as the other kind."""
    if not isinstance(obj, cls):
        raise TypeError("%s must be a %s, got %s" % (what, cls.__name__, type(obj).__name__))
    return obj._handle()  # type: ignore[no-any-return]


# Integers for C: ctypes keeps the low bits of whatever it is given (2**32
# as 0, -1 as 4294967295, 2**64 + 1 as 1) and refuses floats with its own
# ArgumentError, so every integer that reaches C passes one of these.

def _integer(x: Any, what: str, truncate: bool) -> int:
    """An int; a float too when it is whole (or, with `truncate`, any finite
    one). Not a bool: `cap_day=False` would be a cap of 0, a pause."""
    if isinstance(x, bool):
        raise TypeError("%s must be an integer, got bool" % what)
    if isinstance(x, float):
        if x != x or x in (float("inf"), float("-inf")) or not (truncate or x.is_integer()):
            raise ValueError("%s must be a whole number, got %r" % (what, x))
        return int(x)
    try:
        return operator.index(x)
    except TypeError:
        raise TypeError("%s must be an integer, got %s" % (what, type(x).__name__)) from None


def check_int(x: Any, what: str, lo: int, hi: int) -> int:
    """An integer within lo..hi, else TypeError (not a number) or ValueError."""
    v = _integer(x, what, False)
    if not lo <= v <= hi:
        raise ValueError("%s must be %d..%d, got %d" % (what, lo, hi, v))
    return v


def to_double(x: Any, what: str) -> float:
    """A real number (not a bool, not text) as a float: TypeError for other
    types, ValueError for an int too large for a double."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError("%s must be a number, got %s" % (what, type(x).__name__))
    try:
        return float(x)
    except OverflowError:
        raise ValueError("%s: too large for a number (a double)" % what) from None


# The key by which the package's own code hands a wrapper the C object it
# made: a wrapper made from any other value (Table("t.csv")) would hand C an
# address that is none.
ADOPT = object()


def adopted(key: Any, cls: str, makers: str) -> None:
    if key is not ADOPT:
        raise TypeError("%s cannot be made from a value; use %s" % (cls, makers))


def to_flag(x: Any, what: str) -> int:
    """A bool (or 0 or 1) as 0 or 1: "no" or any other text is a TypeError,
    not a true value."""
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, int) and x in (0, 1):
        return x
    raise TypeError("%s must be a bool (or 0 or 1), got %r" % (what, x))


def check_u32(x: Any, what: str) -> int:
    return check_int(x, what, 0, 2**32 - 1)


def check_i64(x: Any, what: str) -> int:
    """A time in milliseconds for a C int64 (a float, as time.time() * 1000 gives, is cut to whole ms)."""
    v = _integer(x, what, True)
    if not -2**63 <= v < 2**63:
        raise ValueError("%s must fit in a signed 64-bit integer, got %d" % (what, v))
    return v


def check_index(i: Any, n: int, what: str) -> int:
    """A position in a sequence of n, negative ones from the end, as lists take them."""
    try:
        v = operator.index(i)
    except TypeError:
        raise TypeError("%s indices must be integers, not %s" % (what, type(i).__name__)) from None
    if v < 0:
        v += n
    if not 0 <= v < n:
        raise IndexError("%s index out of range" % what)
    return v


def enum_value(names: Mapping[str, int], x: Any, what: str) -> int:
    """A C enum from its name (any case) or its number; an unknown one is a ValueError."""
    if isinstance(x, str):
        try:
            return names[x.lower()]
        except KeyError:
            raise ValueError("unknown %s %r (expected one of %s)" % (what, x, ", ".join(names))) from None
    if isinstance(x, bool) or not isinstance(x, int):
        raise TypeError("%s must be a name (str) or a number, got %s" % (what, type(x).__name__))
    return check_u32(x, what)


def str_list(x: Any, what: str) -> List[Optional[str]]:
    """A list of strings: a str itself is refused, where iterating would take
    each character for an item."""
    if isinstance(x, (str, bytes)) or not isinstance(x, Iterable):
        raise TypeError("%s must be a list of str, got %s" % (what, type(x).__name__))
    return list(x)


class NoCopy:
    """For the wrappers that own a C object. A copy or a pickle would be a
    second owner of the same pointer (freed twice), or a pointer handed to
    another process: both raise TypeError. Share the object instead (the C
    objects say which are thread-safe)."""

    def __copy__(self) -> Any:
        raise TypeError("%s owns a C object and cannot be copied; share it instead" % type(self).__name__)

    def __deepcopy__(self, memo: Any) -> Any:
        raise TypeError("%s owns a C object and cannot be copied; share it instead" % type(self).__name__)

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("%s owns a C object and cannot be pickled" % type(self).__name__)


class CHandle:
    """The address of one C object and the function that frees it, called
    when the last reference to the CHandle goes. Calls pass the CHandle
    itself (ctypes reads `_as_parameter_`), so a call in progress holds it:
    a close() meanwhile, on another thread or in a callback inside that call,
    only drops its owner's reference, and the C object outlives the call.
    `keep` holds what C may call or read through while the object lives:
    callbacks, and a fork's parent."""

    __slots__ = ("_as_parameter_", "_free", "keep")

    def __init__(self, address: int, free: Callable[[Any], Any]) -> None:
        self._as_parameter_ = address
        self._free: Optional[Callable[[Any], Any]] = free
        self.keep: List[Any] = []

    def __del__(self) -> None:
        free, self._free = self._free, None
        if free is not None:
            try:
                free(self._as_parameter_)
            except Exception:  # noqa: BLE001 - the library may be gone at interpreter exit
                pass


class Owner(NoCopy):
    """A wrapper owning one C object through a CHandle. Methods take the
    handle once with _handle() and keep it in a local or an argument for as
    long as C may use the object or what it returned."""

    _what = "object"
    _gone = "is closed"
    _h: Optional[CHandle] = None

    def _own(self, address: Optional[int], free: Callable[[Any], Any]) -> None:
        self._h = CHandle(address, free) if address else None

    def _handle(self) -> CHandle:
        h = self._h  # once: another thread may close meanwhile
        if h is None:
            raise ValueError("%s %s" % (self._what, self._gone))
        return h

    def _drop(self) -> None:
        """Let go of the C object: freed now, or when the last call in
        progress returns. Later calls on this wrapper raise ValueError."""
        self._h = None


class Shared(Owner):
    """For the wrappers of immutable C objects (tables, rosters, leads files,
    a decision's record): a copy or a deep copy is the object itself, one
    owner still, so that dataclasses.asdict() and copy.deepcopy() of the data
    holding them work. Pickling still raises TypeError."""

    def __copy__(self) -> Any:
        return self

    def __deepcopy__(self, memo: Any) -> Any:
        return self


class Keep:
    """Holds every Python object the C structs built for one call point into."""

    def __init__(self) -> None:
        self.refs: List[Any] = []

    def s(self, text: Optional[str]) -> Optional[bytes]:
        b = enc(text)
        if b is not None:
            self.refs.append(b)
        return b

    def strings(self, items: Iterable[Optional[str]]) -> Tuple[Any, int]:
        encoded = [self.s(i) for i in items]
        arr = (c_char_p * max(len(encoded), 1))(*encoded)
        self.refs.append(arr)
        return ctypes.cast(arr, POINTER(c_char_p)), len(encoded)


def fill_value(v: _ffi.Value, x: FieldValue, keep: Keep, name: str) -> None:
    _lib.leadroute_value_init(ctypes.byref(v), _ffi.VALUE_VERSION)
    if x is None:
        v.type = VALUE_NULL
    elif isinstance(x, bool):
        v.type = VALUE_BOOL
        v.boolean = 1 if x else 0
    elif isinstance(x, str):
        v.type = VALUE_STRING
        try:
            v.string = keep.s(x)
        except ValueError as err:
            raise ValueError("field %r: %s" % (name, err)) from None
    elif isinstance(x, (int, float)):
        v.type = VALUE_NUMBER
        v.number = to_double(x, "field %r" % (name,))
    elif isinstance(x, (list, tuple, set, frozenset)):
        for item in x:
            if not isinstance(item, str):
                raise TypeError("field %r: set items must be str, got %s" % (name, type(item).__name__))
        items = sorted(x) if isinstance(x, (set, frozenset)) else list(x)
        v.type = VALUE_SET
        try:
            v.items, v.item_count = keep.strings(items)
        except ValueError as err:
            raise ValueError("field %r: %s" % (name, err)) from None
    else:
        raise TypeError("field %r: unsupported value type %s" % (name, type(x).__name__))


def fields_array(fields: Fields, keep: Keep) -> Tuple[Any, int]:
    if not isinstance(fields, Mapping):
        raise TypeError("fields must be a mapping of field name to value")
    arr = (_ffi.Field * max(len(fields), 1))()
    for i, (name, x) in enumerate(fields.items()):
        if name is None:
            raise TypeError("field names must be str, got NoneType")
        try:
            arr[i].name = keep.s(name)
        except ValueError as err:
            raise ValueError("field name %r: %s" % (name, err)) from None
        fill_value(arr[i].value, x, keep, name)
    keep.refs.append(arr)
    return ctypes.cast(arr, POINTER(_ffi.Field)), len(fields)


def make_lead(lead_id: Optional[str], fields: Fields, keep: Keep) -> _ffi.Lead:
    lead = _ffi.Lead()
    _lib.leadroute_lead_init(ctypes.byref(lead), _ffi.LEAD_VERSION)
    lead.id = keep.s(lead_id)
    lead.fields, lead.field_count = fields_array(fields, keep)
    keep.refs.append(lead)
    return lead


def value_to_py(v: Any) -> FieldValue:
    if v.type == VALUE_STRING:
        return dec(v.string)
    if v.type == VALUE_NUMBER:
        return v.number
    if v.type == VALUE_BOOL:
        return bool(v.boolean)
    if v.type == VALUE_SET:
        return [dec(v.items[i]) or "" for i in range(v.item_count)]
    return None


def lead_to_py(p: Any) -> Tuple[Optional[str], Dict[str, FieldValue]]:
    if not p:
        return None, {}
    lead = p.contents
    out: Dict[str, FieldValue] = {}
    for i in range(lead.field_count):
        f = lead.fields[i]
        out[dec(f.name) or ""] = value_to_py(f.value)
    return dec(lead.id), out


def out_bytes(text: Any, what: str) -> bytes:
    """A callback's answer `text` for C: a str with no NUL (which would cut it
    short there), else TypeError or ValueError naming `what`."""
    if not isinstance(text, str):
        raise TypeError("%s must be a str, got %s" % (what, type(text).__name__))
    try:
        return enc(text)  # type: ignore[return-value]
    except ValueError as err:
        raise ValueError("%s: %s" % (what, err)) from None


def copy_out(address: Optional[int], cap: int, text: Any, what: str) -> None:
    """Write `text` (see out_bytes) NUL-terminated into a C buffer, cut to fit
    on a character boundary."""
    data = out_bytes(text, what)
    if not address or cap <= 0:
        return
    if len(data) >= cap:
        data = data[:cap - 1].decode("utf-8", "ignore").encode("utf-8")
    ctypes.memmove(address, data + b"\0", len(data) + 1)


# ---- exceptions raised inside callbacks -------------------------------------------
#
# Callbacks run on the thread that made the C call, inside it. An exception is
# stored in a thread-local slot and the callback returns an error code; once
# the C call returns, guarded() raises it. One slot for every router keeps
# forks (which share their parent's callbacks) simple; nesting (a callback
# that calls another router) saves and restores the outer call's slot.

_pending = threading.local()


def stash(exc: BaseException) -> None:
    """Keep the first exception of the current call: later ones are usually consequences."""
    if getattr(_pending, "exc", None) is None:
        _pending.exc = exc


def guarded(fn: Callable[..., Any], *args: Any, on_error: Optional[Callable[[LeadrouteError], None]] = None,
            on_callback: Optional[Callable[[BaseException], None]] = None) -> Any:
    """Call a C function; raise what a callback raised during it, chained to the C error.
    `on_error` sees the C error, `on_callback` the callback's exception (whatever its
    class, a LeadrouteError subclass too) before it is raised."""
    outer = getattr(_pending, "exc", None)
    _pending.exc = None
    try:
        try:
            rc = fn(*args)
        except LeadrouteError as err:
            exc = _pending.exc
            if on_error is not None:
                on_error(err)
            if exc is not None:
                if on_callback is not None:
                    on_callback(exc)
                raise exc from err
            raise
        exc = _pending.exc
        if exc is not None:
            if on_callback is not None:
                on_callback(exc)
            raise exc
        return rc
    finally:
        _pending.exc = outer
