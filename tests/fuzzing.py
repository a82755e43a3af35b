"""Hypothesis strategies for the property-based tests of what clients may send
(tests/fuzz/test_http.py, tests/fuzz/test_frames.py).

Three kinds of input, from the request models themselves so they follow the code:

* ``valid(T)``: a value that passes ``T``'s validation, built from msgspec's own description
  of the Struct (:func:`msgspec.inspect.type_info`): it reaches the domain code behind the
  validator with adversarial but well-formed values (unicode names, odd ids, edge lengths);
* ``mutated(T)``: a valid value with one thing wrong - a field's value replaced by any JSON,
  a required field dropped, an unknown field added - anywhere in the tree;
* ``json_values``: any JSON at all (deep, huge numbers, NaN, lone surrogates).

hypothesis-jsonschema would derive the first from ``msgspec.json.schema``, but its latest
release (0.23.1) fails on current Hypothesis (``'many' object has no attribute 'more'``),
so this walks msgspec's type info instead: a dozen small cases.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import msgspec.inspect as mi
from hypothesis import strategies as st

# any JSON value a client could send; floats include NaN and infinities (json.dumps writes
# them as NaN / Infinity, which some parsers take), text includes lone surrogates
_scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-(2**70), max_value=2**70)
            | st.floats() | st.text(st.characters(exclude_categories=()), max_size=40))
json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def _text(info: mi.StrType) -> st.SearchStrategy[str]:
    if info.pattern:
        # the models anchor every pattern ^...\Z, so a full match is the whole string
        pattern = st.from_regex(info.pattern, fullmatch=True)
        if info.max_length is not None or info.min_length:
            lo, hi = info.min_length or 0, info.max_length
            pattern = pattern.filter(lambda s: len(s) >= lo and (hi is None or len(s) <= hi))
        return pattern
    hi = info.max_length if info.max_length is not None else 300
    return st.text(min_size=info.min_length or 0, max_size=min(hi, 300)) | st.just("x" * hi)


def _strategy(info: mi.Type) -> st.SearchStrategy[Any]:
    if isinstance(info, mi.StructType):
        return _struct(info)
    if isinstance(info, mi.StrType):
        return _text(info)
    if isinstance(info, mi.IntType):
        lo = info.ge if info.ge is not None else (info.gt + 1 if info.gt is not None else None)
        hi = info.le if info.le is not None else (info.lt - 1 if info.lt is not None else None)
        return st.integers(min_value=lo, max_value=hi)
    if isinstance(info, mi.BoolType):
        return st.booleans()
    if isinstance(info, mi.NoneType):
        return st.none()
    if isinstance(info, mi.LiteralType):
        return st.sampled_from(info.values)
    if isinstance(info, mi.UnionType):
        return st.one_of(*(_strategy(t) for t in info.types))
    if isinstance(info, mi.ListType):
        return st.lists(_strategy(info.item_type), min_size=info.min_length or 0,
                        max_size=min(info.max_length if info.max_length is not None else 5, 5))
    if isinstance(info, mi.FloatType):
        return st.floats(allow_nan=False, allow_infinity=False)
    if isinstance(info, mi.DictType):
        return st.dictionaries(_strategy(info.key_type), _strategy(info.value_type), min_size=info.min_length or 0,
                               max_size=min(info.max_length if info.max_length is not None else 5, 5))
    raise NotImplementedError(f"no strategy for {info!r}: add a case")


def _struct(info: mi.StructType) -> st.SearchStrategy[dict[str, Any]]:
    required = {f.encode_name: _strategy(f.type) for f in info.fields if f.required}
    optional = {f.encode_name: _strategy(f.type) for f in info.fields if not f.required}
    base = st.fixed_dictionaries(required, optional=optional)
    if info.tag_field is not None:
        tag_field, tag = info.tag_field, info.tag
        return base.map(lambda d: {tag_field: tag, **d})
    return base


def valid(model: Any) -> st.SearchStrategy[Any]:
    """Values that ``msgspec.convert(value, model)`` accepts (a Struct's ``__post_init__``
    may still refuse a few: callers filter with :func:`accepted` where it matters)."""
    return _strategy(mi.type_info(model))


def accepted(model: Any, value: Any) -> bool:
    try:
        msgspec.convert(value, model, strict=True)
    except msgspec.ValidationError:
        return False
    return True


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON tree: dict keys and list indexes, the root included."""
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _set(tree: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(tree) if isinstance(tree, dict) else list(tree)
    copy[path[0]] = _set(tree[path[0]], path[1:], new)
    return copy


def _drop(tree: Any, path: tuple[Any, ...]) -> Any:
    if len(path) == 1:
        copy = dict(tree) if isinstance(tree, dict) else list(tree)
        del copy[path[0]]
        return copy
    return _set(tree, path[:1], _drop(tree[path[0]], path[1:]))


@st.composite
def _mutate(draw: st.DrawFn, value: Any) -> Any:
    paths = _paths(value)
    path = draw(st.sampled_from(paths))
    kind = draw(st.sampled_from(["replace", "drop", "add"]))
    if kind == "drop" and path:
        return _drop(value, path)
    target: Any = value
    for step in path:
        target = target[step]
    if kind == "add" and isinstance(target, dict):
        return _set(value, path, {**target, draw(st.text(max_size=12)): draw(json_values)})
    return _set(value, path, draw(json_values))


def mutated(model: Any, **known: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A valid value of ``model`` (steered by ``known``) with one thing changed, somewhere in it."""
    return steered(model, **known).flatmap(_mutate)


def steered(model: Any, **known: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Valid values of ``model`` whose top-level fields named in ``known`` often take a value
    from that strategy instead (the seeded tenant, a real user id, the right password):
    random values rarely get past the first lookup, and the code behind it is what these
    tests are for. A field the value's type has no room for (the other kinds of a tagged
    union) is left alone, so the value stays valid."""

    @st.composite
    def draw_one(draw: st.DrawFn) -> Any:
        value = draw(valid(model))
        for name, strategy in known.items():
            if draw(st.integers(0, 3)) < 3:  # three times in four (0, the simplest draw, steers)
                candidate = {**value, name: draw(strategy)}
                value = candidate if accepted(model, candidate) else value
        return value

    return draw_one()


# -- "changes nothing": every AWS call that could change something, as it happens ------------------------
_READS = ("Get", "Query", "Scan", "Describe", "List", "BatchGet", "TransactGet", "Head", "Decrypt", "Encrypt",
          "GenerateDataKey")


def _keys(params: Any) -> list[str]:
    """Every DynamoDB partition key a request names (``Key`` and ``Item`` anywhere in it)."""
    found: list[str] = []
    if isinstance(params, dict):
        for name, value in params.items():
            if name in ("Key", "Item") and isinstance(value, dict) and "pk" in value:
                found.append(value["pk"].get("S", ""))
            else:
                found += _keys(value)
    elif isinstance(params, list):
        for value in params:
            found += _keys(value)
    return found


class Changes:
    """The calls that changed something, recorded while installed: any AWS operation that is
    not a read and did not fail (a refused conditional write changes nothing). The rate
    limiter's counters (``RL#``) are left out: every request counts toward its client's quota.

    Cheaper than comparing the table before and after (a Scan per example, which moto
    answers slowly as the table grows) and stricter: a write of the same value counts too."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    @contextmanager
    def recording(self) -> Iterator[Changes]:
        from botocore.client import BaseClient

        original = BaseClient._make_api_call  # type: ignore[attr-defined]
        calls = self.calls

        def recorded(client: Any, operation: str, params: dict[str, Any]) -> Any:
            result = original(client, operation, params)
            keys = _keys(params)
            if not operation.startswith(_READS) and not (keys and all(k.startswith("RL#") for k in keys)):
                where = sorted(set(keys)) or params.get("ConnectionId", "")
                calls.append(f"{client.meta.service_model.service_name}.{operation}[{where}]")
            return result

        setattr(BaseClient, "_make_api_call", recorded)  # noqa: B010 - a private method, patched for the block
        try:
            yield self
        finally:
            setattr(BaseClient, "_make_api_call", original)  # noqa: B010
