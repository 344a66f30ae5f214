"""The ``evidence_exports`` table: one requested evidence pack and its outcome."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo.schema import Base

EXPORT_STATUSES = ("queued", "running", "succeeded", "failed")


class EvidenceExport(Base):
    """An evidence pack request: resolved parameters, progress and where the files are."""

    __tablename__ = "evidence_exports"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')",
            name="evidence_exports_status_check",
        ),
        CheckConstraint("progress BETWEEN 0 AND 100", name="evidence_exports_progress_check"),
        Index("ix_evidence_exports_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16), server_default="queued")
    progress: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    #: Resolved at request time ("latest" → a run id, defaults filled in), so
    #: rendering the same export twice gives the same numbers.
    params: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    result_dir: Mapped[str | None] = mapped_column(Text)
    #: [{name, bytes, sha256}] of the pack's files, for the status and for audit.
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    requested_by_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL")
    )
