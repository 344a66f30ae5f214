"""The ``interventions`` and ``intervention_evaluations`` tables.

An intervention is what the city did, where and when (a drain-clearing
programme, a lead abatement sweep); its evaluation is the answer to "did it
work?", recomputed whenever the intervention changes. ``version`` counts the
changes, so an evaluation computed for an older version is never published over
a newer one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo.schema import Base


class Intervention(Base):
    """Something the city did in an area, for some services, over a period."""

    __tablename__ = "interventions"
    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="interventions_dates_check"),
        CheckConstraint("cost IS NULL OR cost >= 0", name="interventions_cost_check"),
        CheckConstraint(
            "pre_months IS NULL OR pre_months BETWEEN 3 AND 60",
            name="interventions_pre_months_check",
        ),
        CheckConstraint(
            "post_months IS NULL OR post_months BETWEEN 1 AND 60",
            name="interventions_post_months_check",
        ),
        Index("ix_interventions_geom", "geom", postgresql_using="gist"),
        Index("ix_interventions_start_date", "start_date"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    programme: Mapped[str | None] = mapped_column(String(200))
    services: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    #: Always a MultiPolygon: points with a radius are buffered on the sphere on entry.
    geom: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    cost: Mapped[float | None] = mapped_column(Numeric(14, 2))
    funding_source: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    #: Evaluation windows when set: months before the start, months after the end.
    pre_months: Mapped[int | None] = mapped_column(SmallInteger)
    post_months: Mapped[int | None] = mapped_column(SmallInteger)
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    created_by_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL")
    )


class InterventionEvaluation(Base):
    """The latest evaluation of one intervention: job status and, when done, the result."""

    __tablename__ = "intervention_evaluations"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')",
            name="intervention_evaluations_status_check",
        ),
        CheckConstraint(
            "progress BETWEEN 0 AND 100", name="intervention_evaluations_progress_check"
        ),
    )

    intervention_id: Mapped[int] = mapped_column(
        ForeignKey("interventions.id", ondelete="CASCADE"), primary_key=True
    )
    #: The intervention's version this row is (being) computed for.
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), server_default="queued")
    progress: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
