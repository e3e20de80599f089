"""Exceptions: one class per libleadroute error code."""

from __future__ import annotations

from typing import Any, Dict, Optional, Type


class LeadrouteError(Exception):
    """Base of every error the library reports. `code` is the negative C code."""

    code: int = 0

    def __init__(self, message: str = "", code: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidArgumentError(LeadrouteError, ValueError):
    code = -1


class VersionError(LeadrouteError):
    code = -2


class OutOfMemoryError(LeadrouteError, MemoryError):
    code = -3


class ParseError(LeadrouteError):
    """Malformed table or roster text; `file`, `line` and `column` say where."""

    code = -4

    def __init__(self, message: str = "", code: Optional[int] = None, file: Optional[str] = None, line: int = 0,
                 column: int = 0) -> None:
        super().__init__(message, code)
        self.file = file
        self.line = line
        self.column = column


class TableError(LeadrouteError):
    code = -5


class LeadError(LeadrouteError, ValueError):
    code = -6


class HitPolicyError(LeadrouteError):
    code = -7


class RangeError(LeadrouteError):
    code = -8


class LeadrouteIOError(LeadrouteError, OSError):
    code = -9


class LimitError(LeadrouteError):
    code = -10


class NotFoundError(LeadrouteError, LookupError):
    code = -11


class UserError(LeadrouteError):
    code = -12


class UnsupportedError(LeadrouteError):
    code = -13


class ConflictError(LeadrouteError):
    """A compare-and-swap lost. A Python store raises it from commit() when
    the pool version or the rep's capacity check fails; the router retries."""

    code = -14


class ExistsError(LeadrouteError):
    """Already there. A Python store raises it from commit() with `owner` set
    to the rep holding the key, and from acknowledge() for a second ack."""

    code = -15

    def __init__(self, message: str = "", code: Optional[int] = None, owner: Optional[str] = None) -> None:
        super().__init__(message, code)
        self.owner = owner


class CallbackError(LeadrouteError):
    """A host callback failed. When the callback was Python code, its own
    exception is raised instead, with this one as its __cause__."""

    code = -16


_BY_CODE: Dict[int, Type[LeadrouteError]] = {
    cls.code: cls
    for cls in (InvalidArgumentError, VersionError, OutOfMemoryError, ParseError, TableError, LeadError,
                HitPolicyError, RangeError, LeadrouteIOError, LimitError, NotFoundError, UserError,
                UnsupportedError, ConflictError, ExistsError, CallbackError)
}


def _text(b: Optional[bytes]) -> str:
    return b.decode("utf-8", "replace") if b is not None else ""


def raise_last(code: int, err: Any) -> None:
    """Raise the exception for `code`, with the thread's last error `err` (a C struct)."""
    # The message belongs to this call only if the codes agree.
    message = _text(err.message) if err.code == code else ""
    if not message:
        from ._ffi import lib
        message = _text(lib.leadroute_strerror(code))
    cls = _BY_CODE.get(code, LeadrouteError)
    if cls is ParseError:
        same = err.code == code
        raise ParseError(message, code, _text(err.file) or None if same else None,
                         int(err.line) if same else 0, int(err.column) if same else 0)
    raise cls(message, code)
