"""Parameters of a hotspot run: one definition, checked once, stored with the run.

:class:`RunParams` is a pydantic model and the only statement of what a run
accepts: the API validates request bodies against it and generates its OpenAPI
schema from it, the CLI and the job build it with :meth:`RunParams.from_dict`
(errors as :class:`~geo.errors.FieldError` naming the field), so a limit cannot
differ between the surfaces.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import fields
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from geo.errors import FieldError
from geo.stats.priority import PriorityWeights

#: Components of the priority score (see ``geo.stats.priority``); a run may
#: override the default weight of any of them with ``priority_weights``.
PRIORITY_COMPONENTS = tuple(f.name for f in fields(PriorityWeights))

MAX_RINGS = 6


def _not_bool(value: Any) -> Any:
    # JSON true is not the number 1: pydantic's lax mode would take it as one.
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


def _rings(value: Any) -> Any:
    if value == "auto":
        return value
    if isinstance(value, bool):
        raise ValueError(f"an integer from 1 to {MAX_RINGS}, or auto")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"an integer from 1 to {MAX_RINGS}, or auto") from None
    if (isinstance(value, float) and value != number) or not 1 <= number <= MAX_RINGS:
        raise ValueError(f"an integer from 1 to {MAX_RINGS}, or auto")
    return number


def _services(value: Any) -> Any:
    # The CLI and query strings give "a,b"; JSON gives a list.
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(s for s in value.split(",") if s)
    return value


Weight = Annotated[
    Annotated[float, Field(ge=0, allow_inf_nan=False)] | None, BeforeValidator(_not_bool)
]


class PriorityWeightsIn(BaseModel):
    """Weights of the priority components (rescaled to sum to 1); absent ones keep the default."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    significance: Weight = None
    reports: Weight = None
    trend: Weight = None
    severity: Weight = None
    population: Weight = None

    def as_dict(self) -> dict[str, float]:
        """The weights given, by component name, sorted."""
        return {k: float(v) for k, v in sorted(self.model_dump(exclude_none=True).items())}


class RunParams(BaseModel):
    """What a hotspot run analyses and how (the contract's run parameters; all optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    services: Annotated[
        tuple[Annotated[str, Field(min_length=1, max_length=64)], ...],
        BeforeValidator(_services),
        Field(description="Service codes; all when absent"),
    ] = ()
    resolution: Annotated[
        Annotated[int, Field(ge=5, le=11)], BeforeValidator(_not_bool),
        Field(description="H3 resolution"),
    ] = 9
    rings: Annotated[
        Annotated[int, Field(ge=1, le=MAX_RINGS)] | Literal["auto"],
        BeforeValidator(_rings),
        Field(description="K rings, or auto (incremental Moran's I)"),
    ] = 1
    since: dt.date | None = Field(
        default=None, description="First day (inclusive); default a year before until")
    until: dt.date | None = Field(
        default=None, description="Last day (exclusive); default tomorrow")
    half_life_days: Annotated[
        Annotated[float, Field(gt=0, le=3650, allow_inf_nan=False)] | None,
        BeforeValidator(_not_bool), Field(description="Recency half-life; no decay when absent"),
    ] = None
    boundary_id: Annotated[
        Annotated[int, Field(ge=1, le=2**31 - 1)] | None, BeforeValidator(_not_bool),
        Field(description="Study area boundary; the city's, else K rings around reports"),
    ] = None
    measure: Literal["counts", "rates"] = "counts"
    time_step: Literal["week", "month"] = "week"
    priority_weights: PriorityWeightsIn = PriorityWeightsIn()

    @field_validator("services")
    @classmethod
    def _canonical_services(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted(set(value)))

    @field_validator("until")
    @classmethod
    def _after_since(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        since = info.data.get("since")
        if value is not None and since is not None and since >= value:
            raise ValueError("must be after since")
        return value

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RunParams:
        """Check and build parameters from JSON-like input; errors name the field.

        >>> RunParams.from_dict({"resolution": 8, "rings": "auto"}).rings
        'auto'
        >>> RunParams.from_dict({"rings": 7})
        Traceback (most recent call last):
        ...
        geo.errors.FieldError: rings: an integer from 1 to 6, or auto
        """
        try:
            return cls.model_validate(
                {k: v for k, v in (data or {}).items() if v is not None})
        except ValidationError as exc:
            raise _field_error(exc) from None

    def weights(self) -> dict[str, float]:
        """The priority weights this run overrides, by component."""
        return self.priority_weights.as_dict()

    def as_json(self) -> dict[str, Any]:
        """JSON-ready parameters, as stored with the run and shown by the API."""
        out = self.model_dump(mode="json")
        out["services"] = list(self.services)
        out["priority_weights"] = self.weights()
        return out

    def key(self) -> str:
        """A digest of the parameters: equal parameters, equal key (for coalescing)."""
        canonical = json.dumps(self.as_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _field_error(exc: ValidationError) -> FieldError:
    """The first error of ``exc`` as a FieldError whose field is a dotted path."""
    err = exc.errors(include_url=False, include_input=False)[0]
    parts: list[str] = []
    for part in err["loc"]:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{part}]"]
        elif not str(part).startswith("function-") and part not in ("int", "literal['auto']"):
            parts.append(str(part))
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown parameter"
    return FieldError(".".join(parts) or "params", message)
