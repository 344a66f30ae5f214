"""Parameters of a hotspot run: checked once, stored with the run, keyed for coalescing."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from geo.errors import FieldError
from geo.stats.priority import PriorityWeights

#: Components of the priority score (see ``geo.stats.priority``); a run may
#: override the default weight of any of them with ``priority_weights``.
PRIORITY_COMPONENTS = tuple(f.name for f in fields(PriorityWeights))

_ALLOWED = {
    "services", "resolution", "rings", "since", "until", "half_life_days", "boundary_id",
    "measure", "time_step", "priority_weights",
}


@dataclass(frozen=True)
class RunParams:
    """What a hotspot run analyses and how (the contract's run parameters)."""

    services: tuple[str, ...] = ()
    resolution: int = 9
    rings: int | str = 1
    since: dt.date | None = None
    until: dt.date | None = None
    half_life_days: float | None = None
    boundary_id: int | None = None
    measure: str = "counts"
    time_step: str = "week"
    priority_weights: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RunParams:
        """Check and build parameters from JSON-like input; errors name the field.

        >>> RunParams.from_dict({"resolution": 8, "rings": "auto"}).rings
        'auto'
        """
        data = dict(data or {})
        unknown = sorted(set(data) - _ALLOWED)
        if unknown:
            raise FieldError(unknown[0], "unknown parameter")
        services = data.get("services") or []
        if isinstance(services, str):
            services = [s for s in services.split(",") if s]
        if not isinstance(services, list) or not all(isinstance(s, str) and s for s in services):
            raise FieldError("services", "a list of service codes")
        resolution = _int(data.get("resolution", 9), "resolution", 5, 11)
        rings_raw = data.get("rings", 1)
        rings: int | str = "auto" if rings_raw == "auto" else _int(rings_raw, "rings", 1, 6)
        since = _date(data.get("since"), "since")
        until = _date(data.get("until"), "until")
        if since and until and since >= until:
            raise FieldError("until", "must be after since")
        half_life = data.get("half_life_days")
        if half_life is not None:
            if isinstance(half_life, bool) or not isinstance(half_life, (int, float)) or not (
                math.isfinite(half_life) and 0 < half_life <= 3650
            ):
                raise FieldError("half_life_days", "a number of days between 0 and 3650")
            half_life = float(half_life)
        boundary_id = data.get("boundary_id")
        if boundary_id is not None:
            boundary_id = _int(boundary_id, "boundary_id", 1, 2**31 - 1)
        measure = data.get("measure", "counts")
        if measure not in ("counts", "rates"):
            raise FieldError("measure", "counts or rates")
        time_step = data.get("time_step", "week")
        if time_step not in ("week", "month"):
            raise FieldError("time_step", "week or month")
        weights = data.get("priority_weights") or {}
        if not isinstance(weights, dict):
            raise FieldError("priority_weights", "an object of component → weight")
        for name, value in weights.items():
            if name not in PRIORITY_COMPONENTS:
                raise FieldError(f"priority_weights.{name}", "unknown component")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                math.isfinite(value) and value >= 0
            ):
                raise FieldError(f"priority_weights.{name}", "a number ≥ 0")
        return cls(
            services=tuple(sorted(set(services))),
            resolution=resolution,
            rings=rings,
            since=since,
            until=until,
            half_life_days=half_life,
            boundary_id=boundary_id,
            measure=measure,
            time_step=time_step,
            priority_weights={k: float(v) for k, v in sorted(weights.items())},
        )

    def as_json(self) -> dict[str, Any]:
        """JSON-ready parameters, as stored with the run and shown by the API."""
        out = asdict(self)
        out["services"] = list(self.services)
        out["since"] = self.since.isoformat() if self.since else None
        out["until"] = self.until.isoformat() if self.until else None
        return out

    def key(self) -> str:
        """A digest of the parameters: equal parameters, equal key (for coalescing)."""
        canonical = json.dumps(self.as_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _int(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise FieldError(name, "must be an integer")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise FieldError(name, "must be an integer") from None
    if isinstance(value, float) and value != number:
        raise FieldError(name, "must be an integer")
    if not low <= number <= high:
        raise FieldError(name, f"must be between {low} and {high}")
    return number


def _date(value: Any, name: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise FieldError(name, "an ISO date (YYYY-MM-DD)") from None
