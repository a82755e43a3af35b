"""The msgspec glue: JSON bodies and Python objects into strict, frozen request Structs.

Request models are :class:`msgspec.Struct` types (``requests.py``, ``chat_requests.py``),
not pydantic models: importing pydantic and building its validators cost ~30-40 ms of every
function's cold start, msgspec ~2-4 ms (``bench/importtime.py``).

Any problem - malformed JSON, a wrong type, a size or pattern out of bounds, an unknown or
missing field - is a :class:`~switchboard.errors.ValidationFailed` (400 ``validation_error``)
with ``errors: [{"loc", "msg"}]``. msgspec stops at the first problem, so the list has one
entry. It never repeats a submitted value (msgspec's "Invalid value 'x'" is cut to "Invalid
value"), so a rejected password or token cannot come back in an answer; the one piece of
client text it may hold is an unknown field's name, in ``loc``, bounded.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, TypeVar, overload

import msgspec

from switchboard.errors import ValidationFailed

__all__ = ["BODY_NOT_VALID", "MAX_LOC", "MAX_MSG", "convert", "decode_json", "error_details"]

T = TypeVar("T")
BODY_NOT_VALID = "the request body is not valid"
MAX_LOC = 64
MAX_MSG = 160

_AT = " - at `$"  # msgspec ends a message with the path: "... - at `$.user.id`", "... - at `$.members[1]`"
_INDEX = re.compile(r"\[(\d+)\]")
# the only messages of msgspec that repeat client text: a field's name, a value
_FIELD_PREFIXES = ("Object contains unknown field", "Object missing required field")
_VALUE_PREFIXES = ("Invalid value", "Invalid enum value")


def _split(text: str) -> tuple[str, str]:
    """(message, location): the path is msgspec's (the last `` - at `$...` ``), spelled
    ``user.id`` and ``members.1`` (pydantic's spelling)."""
    head, sep, tail = text.rpartition(_AT)
    if not sep or not tail.endswith("`") or "`" in tail[:-1]:
        return text, ""
    return head, _INDEX.sub(r".\1", tail[:-1]).lstrip(".")


def error_details(exc: msgspec.ValidationError | msgspec.DecodeError) -> list[dict[str, str]]:
    """``[{"loc", "msg"}]`` for a msgspec error, bounded and without the rejected value."""
    if not isinstance(exc, msgspec.ValidationError):  # "JSON is malformed: ... (byte N)", "Input data was truncated"
        return [{"loc": "", "msg": str(exc)[:MAX_MSG]}]
    msg, loc = _split(str(exc))
    for prefix in _FIELD_PREFIXES:
        if msg.startswith(prefix):  # the field's name goes to loc (as pydantic put it), bounded
            name = msg[len(prefix):].strip(" `")
            msg, loc = prefix, f"{loc}.{name}" if loc else name
    if msg.startswith(_VALUE_PREFIXES):
        msg = "Invalid value"
    return [{"loc": loc[:MAX_LOC], "msg": msg[:MAX_MSG]}]


@cache
def _decoder(type: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(type)


@overload
def decode_json(body: bytes | str, type: type[T], *, detail: str = ...) -> T: ...
@overload
def decode_json(body: bytes | str, type: Any, *, detail: str = ...) -> Any: ...
def decode_json(body: bytes | str, type: Any, *, detail: str = BODY_NOT_VALID) -> Any:
    """``body`` (JSON) as ``type`` - a Struct, or a tagged union of Structs - strictly:
    ``1`` is no string, ``"1"``, ``true`` and ``1.0`` are no int."""
    try:
        return _decoder(type).decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        # not chained: msgspec's own text may hold the rejected value, and tracebacks get logged
        raise ValidationFailed(detail, errors=error_details(exc)) from None
    except RecursionError:  # JSON nested deeper than the decoder goes, in a field of any type
        raise ValidationFailed(detail, errors=[{"loc": "", "msg": "JSON is nested too deeply"}]) from None


@overload
def convert(obj: Any, type: type[T], *, strict: bool = ..., detail: str = ...) -> T: ...
@overload
def convert(obj: Any, type: Any, *, strict: bool = ..., detail: str = ...) -> Any: ...
def convert(obj: Any, type: Any, *, strict: bool = True, detail: str = BODY_NOT_VALID) -> Any:
    """``obj`` (already decoded: a dict) as ``type``. ``strict=False`` only for text that
    stands for numbers (query strings: ``"5"`` -> ``5``)."""
    try:
        return msgspec.convert(obj, type, strict=strict)
    except msgspec.ValidationError as exc:
        raise ValidationFailed(detail, errors=error_details(exc)) from None
