"""Tables of the hotspot engine: the per-cell aggregate, runs, their cells and areas."""

from __future__ import annotations

import datetime as dt
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo.schema import Base, Xid8

RUN_STATUSES = ("queued", "running", "succeeded", "failed")

#: The aggregate keeps cells at this resolution (the default run resolution);
#: coarser runs derive parents from it, finer runs read the reports themselves.
AGGREGATE_RESOLUTION = 9


class CellDay(Base):
    """Reports per service, resolution-9 cell and day: what runs read instead of raw rows.

    Derived state, refreshed from ``reports`` by :func:`geo.hotspots.aggregate.refresh`
    (incrementally after new reports, fully on demand); never edited by hand.
    """

    __tablename__ = "report_cell_days"
    # The incremental refresh replaces whole (service, day) groups.
    __table_args__ = (Index("ix_report_cell_days_service_day", "service_code", "day"),)

    service_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    cell: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    #: raw reports (duplicates marked by staff excluded)
    reports: Mapped[int] = mapped_column(Integer)
    #: reports counted once per device per cell per day
    incidents: Mapped[int] = mapped_column(Integer)
    #: distinct people behind the reports and their confirmations (geo.privacy)
    reporters: Mapped[int] = mapped_column(Integer)


class CellWeek(Base):
    """Report_cell_days summed per ISO week (Monday): what week-binned runs read.

    Derived from ``report_cell_days`` in the same refresh and transaction, so the
    two always agree. Severity is not carried: a service's severity may change,
    and runs join it when they read.
    """

    __tablename__ = "report_cell_weeks"
    # The incremental refresh replaces whole (service, week) groups.
    __table_args__ = (Index("ix_report_cell_weeks_service_week", "service_code", "week"),)

    service_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    cell: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    #: the Monday starting the week
    week: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    #: the sums of the week's days, column for column
    reports: Mapped[int] = mapped_column(Integer)
    incidents: Mapped[int] = mapped_column(Integer)
    reporters: Mapped[int] = mapped_column(Integer)
    #: the most reporters of one day: runs bound neighbourhoods' reporters by single days
    peak_day_reporters: Mapped[int] = mapped_column(Integer)


class AggregateState(Base):
    """How far the aggregate has been brought up to date."""

    __tablename__ = "aggregate_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    refreshed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    #: The oldest transaction still running when the last refresh began: anything
    #: written by it or later may not have been seen, anything older was.
    horizon: Mapped[int | None] = mapped_column(Xid8())


class HotspotRun(Base):
    """One hotspot analysis: its parameters, progress and outcome."""

    __tablename__ = "hotspot_runs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')",
            name="hotspot_runs_status_check",
        ),
        CheckConstraint("progress BETWEEN 0 AND 100", name="hotspot_runs_progress_check"),
        Index(
            "ix_hotspot_runs_latest", "finished_at", postgresql_where=text("status = 'succeeded'")
        ),
        # Coalescing: at most one queued refresh per set of parameters.
        Index(
            "uq_hotspot_runs_queued",
            "params_key",
            unique=True,
            postgresql_where=text("status = 'queued'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16), server_default="queued")
    progress: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    params: Mapped[dict[str, Any]] = mapped_column(JSONB)
    #: the parameters that decide the result, canonical, for coalescing refreshes
    params_key: Mapped[str] = mapped_column(String(80), index=True)
    rings: Mapped[int | None] = mapped_column(SmallInteger)
    rings_profile: Mapped[list[Any] | None] = mapped_column(JSONB)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(String(16), server_default="api")
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    timings: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))


class _CellColumns:
    """The columns of one analysed cell, shared by a run's cells and its public twin's."""

    run_id: Mapped[int] = mapped_column(
        ForeignKey("hotspot_runs.id", ondelete="CASCADE"), primary_key=True
    )
    h3: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    reports: Mapped[int] = mapped_column(Integer)
    weight: Mapped[float] = mapped_column(Float)
    reporters: Mapped[int] = mapped_column(Integer)
    gi_z: Mapped[float] = mapped_column(Float)
    gi_p: Mapped[float] = mapped_column(Float)
    gi_bin: Mapped[int] = mapped_column(SmallInteger)
    n_neighbors: Mapped[int] = mapped_column(SmallInteger)
    no_data: Mapped[bool] = mapped_column(Boolean)
    trend: Mapped[str | None] = mapped_column(String(32))
    area_id: Mapped[int | None] = mapped_column(Integer)
    priority_score: Mapped[float | None] = mapped_column(Float)
    priority_rank: Mapped[int | None] = mapped_column(Integer)
    components: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    geom: Mapped[Any] = mapped_column(Geometry("POLYGON", srid=4326, spatial_index=False))


class _AreaColumns:
    """The columns of one intervention area, shared by a run and its public twin."""

    run_id: Mapped[int] = mapped_column(
        ForeignKey("hotspot_runs.id", ondelete="CASCADE"), primary_key=True
    )
    area_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cells: Mapped[int] = mapped_column(Integer)
    reports: Mapped[int] = mapped_column(Integer)
    weight: Mapped[float] = mapped_column(Float)
    population: Mapped[float | None] = mapped_column(Float)
    trend: Mapped[str | None] = mapped_column(String(32))
    priority_score: Mapped[float] = mapped_column(Float)
    priority_rank: Mapped[int] = mapped_column(Integer)
    components: Mapped[dict[str, Any]] = mapped_column(JSONB)
    geom: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))


class HotspotCell(_CellColumns, Base):
    """One analysed H3 cell of a run (every cell of the study area, empty ones too)."""

    __tablename__ = "hotspot_cells"
    __table_args__ = (
        Index("ix_hotspot_cells_geom", "geom", postgresql_using="gist"),
        Index("ix_hotspot_cells_rank", "run_id", "priority_rank"),
    )


class HotspotArea(_AreaColumns, Base):
    """Contiguous hot cells of a run merged into one candidate intervention area."""

    __tablename__ = "hotspot_areas"


class HotspotPublicCell(_CellColumns, Base):
    """A cell of a run's public analysis: what callers who are not staff see.

    Written with the run when it covers an ``aggregated`` service; see
    :mod:`geo.hotspots.public` for what it leaves out and why.
    """

    __tablename__ = "hotspot_public_cells"
    __table_args__ = (
        Index("ix_hotspot_public_cells_geom", "geom", postgresql_using="gist"),
        Index("ix_hotspot_public_cells_rank", "run_id", "priority_rank"),
    )


class HotspotPublicArea(_AreaColumns, Base):
    """An intervention area of a run's public analysis."""

    __tablename__ = "hotspot_public_areas"
