"""Validation errors in our own words: the field's rule, with its allowed range.

pydantic says "Input should be less than or equal to 90"; a reporter's app wants
"must be between -90 and 90". Each pydantic error type maps to a sentence here. A
range is read from the model's JSON schema (the one ``/openapi.json`` publishes), so
the message names both bounds even though pydantic reports only the one broken;
without a model, the broken bound alone is named.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

_NUMBER_BOUNDS = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")
_SIMPLE = {
    "missing": "required",
    "extra_forbidden": "unknown field",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "string_unicode": "must be a string",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "list_type": "must be a list",
    "uuid_type": "must be a UUID",
    "uuid_parsing": "must be a UUID",
    "uuid_version": "must be a UUID",
    "datetime_type": "must be an ISO 8601 date-time",
    "datetime_parsing": "must be an ISO 8601 date-time",
    "datetime_from_date_parsing": "must be an ISO 8601 date or date-time",
    "timezone_aware": "must include a UTC offset (Z or ±hh:mm)",
    "timezone_naive": "must not include a UTC offset",
    "date_type": "must be a date (YYYY-MM-DD)",
    "date_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "must be a date without a time of day",
    "url_type": "must be a URL",
    "url_parsing": "must be a URL",
    "url_scheme": "must be an http or https URL",
    "json_invalid": "must be valid JSON",
}


@lru_cache(maxsize=256)
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` to its definition."""
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return dict(root.get("$defs", {}).get(ref.rsplit("/", 1)[1], {}), **{
            k: v for k, v in node.items() if k != "$ref"})
    return node


def _branches(node: dict[str, Any], root: dict[str, Any]) -> list[dict[str, Any]]:
    """The node and, for ``anyOf``/``oneOf`` (an optional field), each of its branches."""
    node = _resolve(node, root)
    out = [node]
    for key in ("anyOf", "oneOf", "allOf"):
        out += [_resolve(b, root) for b in node.get(key, []) if isinstance(b, dict)]
    return out


def _is_union(node: dict[str, Any], root: dict[str, Any]) -> bool:
    """Whether ``node`` offers several non-null kinds of value (pydantic tags their errors)."""
    node = _resolve(node, root)
    kinds = [b for key in ("anyOf", "oneOf") for b in node.get(key, [])
             if isinstance(b, dict) and b.get("type") != "null"]
    return len(kinds) > 1


def locate(model: type[BaseModel], loc: tuple[Any, ...]
           ) -> tuple[dict[str, Any] | None, tuple[Any, ...]]:
    """The JSON schema of the value at ``loc`` in ``model`` (None when unknown), and
    ``loc`` without pydantic's union tags (``rings.int`` is the field ``rings``).

    >>> from pydantic import Field
    >>> class Spot(BaseModel):
    ...     lat: float | None = Field(None, ge=-90, le=90)
    ...     rings: int | str = 1
    >>> locate(Spot, ("lat",))[0]["anyOf"][0]
    {'maximum': 90, 'minimum': -90, 'type': 'number'}
    >>> locate(Spot, ("rings", "int"))[1]
    ('rings',)
    """
    root = _schema(model)
    node: dict[str, Any] | None = root
    kept: list[Any] = []
    for part in loc:
        found = None
        for branch in _branches(node, root) if node is not None else []:
            if isinstance(part, int):
                items = branch.get("items")
                found = items if isinstance(items, dict) else None
            else:
                props = branch.get("properties", {})
                found = props.get(part)
                if found is None and isinstance(branch.get("additionalProperties"), dict):
                    found = branch["additionalProperties"]
            if found is not None:
                break
        if found is None and isinstance(part, str) and node is not None and _is_union(node, root):
            continue  # a tag naming the union member that failed, not a field
        kept.append(part)
        node = found
    return node, tuple(kept)


def _constraint(node: dict[str, Any] | None, root: dict[str, Any] | None, *keys: str
                ) -> dict[str, Any]:
    """The first branch of ``node`` carrying any of ``keys``, as {key: value}."""
    if node is None or root is None:
        return {}
    for branch in _branches(node, root):
        found = {k: branch[k] for k in keys if k in branch}
        if found:
            return found
    return {}


def _num(value: Any) -> str:
    """``90.0`` as ``90``; other values as they print."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _range(bounds: dict[str, Any]) -> str:
    """A number range in words, from JSON-schema bounds."""
    low = ("at least", bounds["minimum"]) if "minimum" in bounds else (
        ("greater than", bounds["exclusiveMinimum"]) if "exclusiveMinimum" in bounds else None)
    high = ("at most", bounds["maximum"]) if "maximum" in bounds else (
        ("less than", bounds["exclusiveMaximum"]) if "exclusiveMaximum" in bounds else None)
    if low and high:
        if low[0] == "at least" and high[0] == "at most":
            return f"must be between {_num(low[1])} and {_num(high[1])}"
        return f"must be {low[0]} {_num(low[1])} and {high[0]} {_num(high[1])}"
    side = low or high
    assert side is not None
    return f"must be {side[0]} {_num(side[1])}"


def _length(low: Any, high: Any, unit: str) -> str:
    """A length rule in words: ``unit`` is "characters" or "items"."""
    if low is not None and high is not None:
        return f"must have {low} to {high} {unit}"
    if high is not None:
        return f"must have at most {high} {unit}"
    if low == 1:
        return "must not be empty"
    return f"must have at least {low} {unit}"


def _ctx_bounds(kind: str, ctx: dict[str, Any]) -> dict[str, Any]:
    """The broken bound, from pydantic's error context, in JSON-schema words."""
    names = {"greater_than_equal": ("ge", "minimum"), "greater_than": ("gt", "exclusiveMinimum"),
             "less_than_equal": ("le", "maximum"), "less_than": ("lt", "exclusiveMaximum")}
    key, bound = names[kind]
    return {bound: ctx[key]} if key in ctx else {}


def message(error: Mapping[str, Any], model: type[BaseModel] | None = None,
            loc: tuple[Any, ...] = ()) -> str:
    """One pydantic error (from ``ValidationError.errors()``) as our sentence.

    ``loc`` is the error's location in ``model`` (the body), used to read the
    field's whole range from the schema.

    >>> from pydantic import Field, ValidationError
    >>> class Spot(BaseModel):
    ...     lat: float = Field(ge=-90, le=90)
    >>> try:
    ...     Spot(lat=91)
    ... except ValidationError as exc:
    ...     message(exc.errors()[0], Spot, ("lat",))
    'must be between -90 and 90'
    """
    kind, ctx = error["type"], error.get("ctx") or {}
    node = locate(model, loc)[0] if model is not None else None
    root = _schema(model) if model is not None else None
    if kind in _SIMPLE:
        return _SIMPLE[kind]
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bounds = _constraint(node, root, *_NUMBER_BOUNDS) or _ctx_bounds(kind, ctx)
        return _range(bounds) if bounds else "is out of range"
    if kind in ("string_too_short", "string_too_long"):
        found = _constraint(node, root, "minLength", "maxLength")
        low = found.get("minLength", ctx.get("min_length") if kind == "string_too_short" else None)
        high = found.get("maxLength", ctx.get("max_length") if kind == "string_too_long" else None)
        return _length(low, high, "characters")
    if kind in ("too_short", "too_long"):
        found = _constraint(node, root, "minItems", "maxItems", "minProperties", "maxProperties")
        low = found.get("minItems", found.get("minProperties",
                        ctx.get("min_length") if kind == "too_short" else None))
        high = found.get("maxItems", found.get("maxProperties",
                         ctx.get("max_length") if kind == "too_long" else None))
        return _length(low, high, "items")
    if kind in ("literal_error", "enum"):
        allowed = _constraint(node, root, "enum", "const")
        values = allowed.get("enum") or ([allowed["const"]] if "const" in allowed else None)
        if values and len(values) == 1:
            return f"must be {json.dumps(values[0])}"
        if values:
            return "must be one of: " + ", ".join(str(v) for v in values)
        return f"must be one of: {ctx.get('expected', '')}".replace("'", "")
    if kind == "string_pattern_mismatch":
        return f"must match the pattern {ctx.get('pattern', '')}"
    if kind == "multiple_of":
        return f"must be a multiple of {_num(ctx.get('multiple_of'))}"
    msg = str(error.get("msg", "invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix):]
    # A type with no sentence of ours yet: pydantic's words, in our lower-case style.
    return msg[:1].lower() + msg[1:]
