"""Services (report categories): loading definitions and checking answers against them."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from geo.errors import FieldError
from geo.schema import PRIVACY_LEVELS

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")


@dataclass(frozen=True)
class ServiceInfo:
    """What intake needs to know about a service."""

    code: str
    name: str
    attributes: list[dict[str, Any]] = field(default_factory=list)
    severity: float = 1.0
    duplicate_radius_m: float = 50.0
    privacy: str = "aggregated"
    active: bool = True


def _check_definition(item: dict[str, Any], index: int) -> dict[str, Any]:
    where = f"[{index}]"
    code = item.get("service_code")
    if not isinstance(code, str) or not code or len(code) > 64:
        raise FieldError(f"{where}.service_code", "a non-empty string of at most 64 characters")
    name = item.get("service_name") or item.get("name")
    if not isinstance(name, str) or not name:
        raise FieldError(f"{where}.service_name", "required")
    privacy = item.get("privacy", "aggregated")
    if privacy not in PRIVACY_LEVELS:
        raise FieldError(f"{where}.privacy", "must be public or aggregated")
    severity = float(item.get("severity", 1.0))
    if not math.isfinite(severity) or severity <= 0:
        raise FieldError(f"{where}.severity", "must be a positive number")
    radius = float(item.get("duplicate_radius_m", 50.0))
    if not math.isfinite(radius) or radius < 0:
        raise FieldError(f"{where}.duplicate_radius_m", "must be zero or more metres")
    attributes = []
    for j, attr in enumerate(item.get("attributes") or []):
        at = f"{where}.attributes[{j}]"
        if not isinstance(attr, dict) or not attr.get("code"):
            raise FieldError(f"{at}.code", "required")
        if attr.get("datatype", "string") not in DATATYPES:
            raise FieldError(f"{at}.datatype", f"must be one of {', '.join(DATATYPES)}")
        values = attr.get("values") or []
        if attr.get("datatype", "").endswith("list") and not values:
            raise FieldError(f"{at}.values", "a list datatype needs values")
        attributes.append(
            {
                "variable": bool(attr.get("variable", True)),
                "code": str(attr["code"]),
                "datatype": attr.get("datatype", "string"),
                "required": bool(attr.get("required", False)),
                "datatype_description": attr.get("datatype_description", ""),
                "order": int(attr.get("order", j + 1)),
                "description": attr.get("description", ""),
                "values": [
                    {"key": str(v["key"]), "name": str(v.get("name", v["key"]))} for v in values
                ],
            }
        )
    translations = _check_translations(item.get("translations"), attributes, where)
    keywords = item.get("keywords", [])
    if isinstance(keywords, str):
        keywords = [k.strip() for k in keywords.split(",") if k.strip()]
    return {
        "code": code,
        "name": name,
        "description": item.get("description", ""),
        "group": item.get("group", ""),
        "keywords": json.dumps(keywords),
        "attributes": json.dumps(attributes),
        "translations": json.dumps(translations),
        "severity": severity,
        "duplicate_radius_m": radius,
        "privacy": privacy,
    }


#: A language tag as the residents' app matches it: ``es``, ``pt-BR``, ``zh-Hant``.
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
_TRANSLATED = ("service_name", "description", "group")


def _text_field(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) > 4000:
        raise FieldError(where, "must be a string of at most 4000 characters")
    return value


def _check_translations(
    raw: Any, attributes: list[dict[str, Any]], where: str
) -> list[dict[str, Any]]:
    """A service's ``translations``: per language, its words and its questions' words.

    Shaped like the service itself, so a translator fills in a copy::

        [{"language": "es", "service_name": "Calle inundada", "group": "Agua",
          "attributes": [{"code": "depth_cm", "description": "¿Qué profundidad (cm)?",
                          "values": [{"key": "blocked", "name": "Cortada"}]}]}]

    Every code and value key must be one of the service's; anything left out is
    shown in the service's own words.
    """
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise FieldError(f"{where}.translations", "must be a list of {language, service_name, …}")
    questions = {a["code"]: {v["key"] for v in a["values"]} for a in attributes}
    out: list[dict[str, Any]] = []
    for k, given in enumerate(raw):
        at = f"{where}.translations[{k}]"
        if not isinstance(given, dict):
            raise FieldError(at, "must be an object")
        unknown = sorted(set(given) - {"language", "attributes", *_TRANSLATED})
        if unknown:
            raise FieldError(f"{at}.{unknown[0]}", "unknown field")
        language = given.get("language")
        if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
            raise FieldError(f"{at}.language", "a language tag such as 'es' or 'pt-BR'")
        if any(t["language"] == language for t in out):
            raise FieldError(f"{at}.language", f"{language!r} is translated twice")
        entry: dict[str, Any] = {"language": language}
        entry.update({key: _text_field(given[key], f"{at}.{key}")
                      for key in _TRANSLATED if key in given})
        words = []
        for j, question in enumerate(given.get("attributes") or []):
            qat = f"{at}.attributes[{j}]"
            code = question.get("code") if isinstance(question, dict) else None
            if code not in questions:
                raise FieldError(f"{qat}.code", f"{code!r} is not a question of this service")
            item: dict[str, Any] = {"code": code}
            if "description" in question:
                item["description"] = _text_field(question["description"], f"{qat}.description")
            names = []
            for n, value in enumerate(question.get("values") or []):
                key = value.get("key") if isinstance(value, dict) else None
                if key not in questions[code]:
                    raise FieldError(f"{qat}.values[{n}].key",
                                     f"{key!r} is not an answer of {code}")
                names.append({"key": key, "name": _text_field(value.get("name"),
                                                              f"{qat}.values[{n}].name")})
            if names:
                item["values"] = names
            words.append(item)
        if words:
            entry["attributes"] = words
        out.append(entry)
    return out


#: CivicPulse's fields beyond Open311's in a service definition, so that a city's
#: own ``services.json`` and definitions load back without losing anything.
EXTENSIONS = ("privacy", "severity", "duplicate_radius_m", "translations")


def merge_definitions(
    items: Iterable[dict[str, Any]], definitions: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Services to load: list items with their service definitions' questions and settings.

    ``items`` are elements of a ``services load`` list or of Open311
    ``services.json``; ``definitions`` are Open311 service definitions
    (``services/{code}.json``), whose ``attributes`` and :data:`EXTENSIONS`
    go into the item with their ``service_code``. An item of an Open311 listing
    (it has ``metadata``) must come with its definition, or carry ``privacy``
    and, when ``metadata`` is true, ``attributes`` itself: loading the listing
    alone would drop the questions and reset privacy to the default.

    >>> merge_definitions([{"service_code": "pothole", "service_name": "Pothole",
    ...                     "metadata": False}],
    ...                   [{"service_code": "pothole", "attributes": [], "privacy": "public"}])
    [{'service_code': 'pothole', 'service_name': 'Pothole', 'metadata': False, \
'attributes': [], 'privacy': 'public'}]
    """
    by_code: dict[str, dict[str, Any]] = {}
    for j, given in enumerate(definitions):
        code = given.get("service_code") if isinstance(given, dict) else None
        if not isinstance(code, str) or not code:
            raise FieldError(f"definition[{j}].service_code", "required")
        by_code[code] = given
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise FieldError(f"[{i}]", "must be a service object")
        merged = dict(item)
        definition = by_code.pop(str(item.get("service_code")), None)
        if definition is not None:
            merged["attributes"] = definition.get("attributes") or []
            merged.update({k: definition[k] for k in EXTENSIONS if k in definition})
        elif "metadata" in item and (
            "privacy" not in item or (item["metadata"] and "attributes" not in item)
        ):
            raise FieldError(
                f"[{i}]", f"service {item.get('service_code')!r} is an Open311 listing item: "
                "load its service definition too (GET /open311/v2/services/"
                f"{item.get('service_code')}.json), or its questions and privacy are lost",
            )
        out.append(merged)
    if by_code:
        raise FieldError("definition.service_code",
                         f"no service {sorted(by_code)[0]!r} in the list to define")
    return out


def load_services(conn: Connection, items: Iterable[dict[str, Any]]) -> int:
    """Insert or update services from Open311-shaped definitions; returns how many.

    Each item is shaped like an element of Open311 ``services.json`` and may carry
    ``attributes`` (as in a service definition), ``severity``,
    ``duplicate_radius_m``, ``privacy`` and ``translations`` (the city's words in
    other languages). All are checked before any is written.

    Example, on a database connection (not run as a doctest)::

        load_services(conn, [{"service_code": "pothole", "service_name": "Pothole",
                              "privacy": "public"}])
        1
    """
    rows = [_check_definition(item, i) for i, item in enumerate(items)]
    for row in rows:
        conn.execute(
            text(
                'INSERT INTO services (code, name, description, "group", keywords, attributes, '
                "translations, severity, duplicate_radius_m, privacy, active, updated_at) "
                "VALUES (:code, :name, :description, :group, CAST(:keywords AS jsonb), "
                "CAST(:attributes AS jsonb), CAST(:translations AS jsonb), :severity, "
                ":duplicate_radius_m, :privacy, true, now()) "
                "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, "
                'description = EXCLUDED.description, "group" = EXCLUDED."group", '
                "keywords = EXCLUDED.keywords, attributes = EXCLUDED.attributes, "
                "translations = EXCLUDED.translations, "
                "severity = EXCLUDED.severity, duplicate_radius_m = EXCLUDED.duplicate_radius_m, "
                "privacy = EXCLUDED.privacy, active = true, updated_at = now()"
            ),
            row,
        )
    return len(rows)


def services_by_code(conn: Connection) -> dict[str, ServiceInfo]:
    """Every active service keyed by code (small: a city has tens of services)."""
    rows = conn.execute(
        text(
            "SELECT code, name, attributes, severity, duplicate_radius_m, privacy, active "
            "FROM services WHERE active"
        )
    )
    return {r.code: ServiceInfo(**r._mapping) for r in rows}


def list_services(conn: Connection) -> list[dict[str, Any]]:
    """Services as Open311 lists them, ordered by group then name."""
    rows = conn.execute(
        text(
            'SELECT code, name, description, "group", keywords, attributes, translations, '
            "privacy, severity, duplicate_radius_m, updated_at FROM services WHERE active "
            'ORDER BY "group", name'
        )
    )
    return [dict(r._mapping) for r in rows]


def _number(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FieldError(where, "must be a number") from None
    if not math.isfinite(number):
        raise FieldError(where, "must be a finite number")
    return number


def check_attributes(service: ServiceInfo, answers: dict[str, Any] | None) -> dict[str, Any]:
    """Validate attribute answers against the service definition and normalise them.

    Unknown codes, missing required answers and values outside a list are
    rejected with the attribute's code in the field name.

    >>> svc = ServiceInfo("flood", "Flooding", attributes=[{"code": "depth",
    ...     "datatype": "number", "required": True, "variable": True, "values": []}])
    >>> check_attributes(svc, {"depth": "30"})
    {'depth': 30.0}
    """
    answers = answers or {}
    if not isinstance(answers, dict):
        raise FieldError("attributes", "must be an object of code → value")
    known = {a["code"]: a for a in service.attributes if a.get("variable", True)}
    for code in answers:
        if code not in known:
            raise FieldError(f"attributes.{code}", f"not a question of service {service.code}")
    out: dict[str, Any] = {}
    for code, attr in known.items():
        where = f"attributes.{code}"
        value = answers.get(code)
        if value is None or value == "" or value == []:
            if attr.get("required"):
                raise FieldError(where, "required by this service")
            continue
        datatype = attr.get("datatype", "string")
        allowed = {v["key"] for v in attr.get("values", [])}
        if datatype == "number":
            out[code] = _number(value, where)
        elif datatype == "datetime":
            try:
                parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            except ValueError:
                raise FieldError(where, "must be an ISO 8601 date-time") from None
            if parsed.tzinfo is None:
                raise FieldError(where, "needs a time zone offset")
            out[code] = parsed.isoformat()
        elif datatype == "singlevaluelist":
            if isinstance(value, list):
                if len(value) != 1:
                    raise FieldError(where, "takes exactly one value")
                value = value[0]
            if str(value) not in allowed:
                raise FieldError(where, f"{value!r} is not one of {', '.join(sorted(allowed))}")
            out[code] = str(value)
        elif datatype == "multivaluelist":
            values = value if isinstance(value, list) else [value]
            bad = [v for v in values if str(v) not in allowed]
            if bad:
                raise FieldError(where, f"{bad[0]!r} is not one of {', '.join(sorted(allowed))}")
            out[code] = sorted({str(v) for v in values})
        else:
            if isinstance(value, (dict, list)):
                raise FieldError(where, "must be text")
            text_value = str(value)
            limit = 4000 if datatype == "text" else 500
            if len(text_value) > limit:
                raise FieldError(where, f"at most {limit} characters")
            out[code] = text_value
    return out
