"""Payloads of the interventions API: one model per payload, for validation and /openapi.json.

Limits come from :mod:`geo.evaluation.interventions`, which checks the same
values again for the file import, so the two cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from geo.evaluation import interventions as iv
from service.api.job_status import JobStatus


class InterventionIn(BaseModel):
    """What the city did, where, when, for which services and at what cost."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=iv.MAX_TEXT)
    programme: str | None = Field(None, max_length=iv.MAX_TEXT,
                                  description="The programme it belongs to")
    services: list[str] = Field(min_length=1, max_length=iv.MAX_SERVICES,
                                description="Service codes the intervention targets")
    geometry: dict[str, Any] = Field(
        description="GeoJSON Polygon or MultiPolygon in WGS84 (at most 10,000 vertices), or "
        f"a Point or MultiPoint (at most {iv.MAX_POINTS} points) with radius_m"
    )
    radius_m: float | None = Field(None, gt=0, le=iv.MAX_RADIUS_M, allow_inf_nan=False,
                                   description="Buffer around points, metres")
    start_date: dt.date
    end_date: dt.date = Field(description="Equal to start_date for a one-off action")
    cost: float | None = Field(None, ge=0, le=iv.MAX_COST, allow_inf_nan=False,
                               description="Dollars spent")
    funding_source: str | None = Field(None, max_length=iv.MAX_TEXT)
    notes: str | None = Field(None, max_length=iv.MAX_NOTES)
    pre_months: int | None = Field(None, ge=3, le=60,
                                   description="Months before the start compared (default 12)")
    post_months: int | None = Field(
        None, ge=1, le=60, description="Months after the end compared (default: all since)"
    )


class InterventionPatch(BaseModel):
    """Fields to change; null clears an optional one. Changing radius_m needs geometry."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=iv.MAX_TEXT)
    programme: str | None = Field(None, max_length=iv.MAX_TEXT)
    services: list[str] | None = Field(None, min_length=1, max_length=iv.MAX_SERVICES)
    geometry: dict[str, Any] | None = None
    radius_m: float | None = Field(None, gt=0, le=iv.MAX_RADIUS_M, allow_inf_nan=False)
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    cost: float | None = Field(None, ge=0, le=iv.MAX_COST, allow_inf_nan=False)
    funding_source: str | None = Field(None, max_length=iv.MAX_TEXT)
    notes: str | None = Field(None, max_length=iv.MAX_NOTES)
    pre_months: int | None = Field(None, ge=3, le=60)
    post_months: int | None = Field(None, ge=1, le=60)


class InterventionOut(BaseModel):
    """An intervention as stored (points with a radius are stored as their buffer)."""

    id: int
    name: str
    programme: str | None
    services: list[str]
    geometry: dict[str, Any]
    start_date: dt.date
    end_date: dt.date
    cost: float | None
    funding_source: str | None
    notes: str | None
    pre_months: int | None
    post_months: int | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    evaluation_url: str


class InterventionList(BaseModel):
    """One page of interventions, newest start first."""

    interventions: list[InterventionOut]
    page: int
    page_size: int
    total: int


class ListQuery(BaseModel):
    """Paging of the list."""

    model_config = ConfigDict(extra="forbid")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=250)


class EvaluateIn(BaseModel):
    """An on-demand evaluation; the intervention's own windows when left out."""

    model_config = ConfigDict(extra="forbid")
    as_of: dt.date | None = Field(None, description="Evaluate as on this day (default today)")


class GroupCounts(BaseModel):
    """Reports of one group of cells before and after, and per cell-month."""

    cells: int
    pre_reports: int | None = Field(
        description="Reports before; null for non-staff when counts_withheld")
    post_reports: int | None = Field(
        description="Reports after; null for non-staff when counts_withheld")
    pre_rate: float | None = Field(description="Reports per cell per month, before")
    post_rate: float | None = Field(description="Reports per cell per month, after")
    pre_reporters: int | None = Field(
        None, description="Distinct reporters before (staff only; aggregated services)")
    post_reporters: int | None = Field(
        None, description="Distinct reporters after (staff only; aggregated services)")


class EvaluationOut(JobStatus):
    """An intervention's evaluation: the job's status and, once succeeded, the answer."""

    intervention_id: int
    version: int
    effect_ratio: float | None = Field(
        None, description="After/before change in treated cells relative to controls")
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    significant: bool | None = None
    method: str | None = None
    treated_cells: int | None = None
    control_cells: int | None = None
    groups: dict[Literal["treated", "control"], GroupCounts] | None = None
    windows: dict[str, Any] | None = None
    pre_trend: dict[str, Any] | None = None
    placebo: dict[str, Any] | None = None
    hotspot_change: dict[str, Any] | None = None
    cost_per_avoided_report: float | None = None
    overlapping_interventions: list[dict[str, Any]] | None = None
    services: list[str] | None = None
    privacy_applies: bool | None = Field(
        None, description="Whether a service counted is shown to the public only in aggregate")
    counts_withheld: bool | None = Field(
        None, description="Non-staff callers: group counts withheld (fewer than 3 reporters)")
    caveats: list[str] = Field(default_factory=list)
