"""The database schema as SQLAlchemy 2 typed models (PostGIS through GeoAlchemy2).

Alembic migrations in ``migrations/`` create exactly these tables; a test checks that
autogenerate finds no difference.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

REPORT_STATUSES = ("open", "acknowledged", "in_progress", "closed", "duplicate")
REPORT_SOURCES = ("open311", "api", "import")
PRIVACY_LEVELS = ("public", "aggregated")
ROLES = ("app", "planner", "grant_writer", "admin")

#: Reports store their H3 cell at this (fine) resolution; any coarser cell derives
#: from it by bit arithmetic (see ``geo.h3cells``), so runs at any resolution can
#: aggregate from an index without re-reading points.
STORED_H3_RESOLUTION = 15


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Xid8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id (``xid8``), which SQLAlchemy does not name."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        """The column type in DDL."""
        return "xid8"


class Base(DeclarativeBase):
    """Declarative base of every CivicPulse table."""


class Service(Base):
    """A report category (Open311 calls them services)."""

    __tablename__ = "services"
    __table_args__ = (
        CheckConstraint(f"privacy IN ({_in(PRIVACY_LEVELS)})", name="services_privacy_check"),
        CheckConstraint("severity > 0", name="services_severity_check"),
        CheckConstraint("duplicate_radius_m >= 0", name="services_duplicate_radius_check"),
    )

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, server_default="")
    group: Mapped[str] = mapped_column("group", String(200), server_default="")
    keywords: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    #: Open311 service-definition attributes: list of {code, datatype, required,
    #: description, datatype_description, order, variable, values: [{key, name}]}.
    attributes: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb")
    )
    severity: Mapped[float] = mapped_column(Float, server_default="1")
    duplicate_radius_m: Mapped[float] = mapped_column(Float, server_default="50")
    privacy: Mapped[str] = mapped_column(String(16), server_default="aggregated")
    #: The city's words in other languages: [{language, service_name, description,
    #: group, attributes: [{code, description, values: [{key, name}]}]}].
    translations: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb")
    )
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class ApiKey(Base):
    """An API key; only its SHA-256 is stored."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(f"role IN ({_in(ROLES)})", name="api_keys_role_check"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), server_default="")
    role: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class CacheVersion(Base):
    """A change counter per cached table (``api_keys``, ``services``), bumped by a trigger
    on every statement that changes the table (migration 0013)."""

    __tablename__ = "cache_versions"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, server_default="1")


class Report(Base):
    """A resident's report of a problem at a place."""

    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(REPORT_STATUSES)})", name="reports_status_check"),
        CheckConstraint(f"source IN ({_in(REPORT_SOURCES)})", name="reports_source_check"),
        CheckConstraint("char_length(description) <= 4000", name="reports_description_check"),
        CheckConstraint(
            "(geom IS NULL) = (h3_cell IS NULL)", name="reports_geom_h3_check"
        ),
        Index("ix_reports_geom", "geom", postgresql_using="gist"),
        Index("ix_reports_h3_cell", "h3_cell"),
        Index("ix_reports_service_requested", "service_code", "requested_at"),
        Index("ix_reports_updated_at", "updated_at"),
        Index("ix_reports_changed_at", "changed_at"),
        Index("ix_reports_changed_xact", "changed_xact"),
        Index("ix_reports_requested_at", "requested_at"),
        # Deleting or merging a report checks this foreign key; without the index
        # each check scans every report.
        Index(
            "ix_reports_duplicate_of",
            "duplicate_of",
            postgresql_where=text("duplicate_of IS NOT NULL"),
        ),
        Index(
            "ix_reports_needs_location",
            "id",
            postgresql_where=text("geom IS NULL"),
        ),
        Index(
            "uq_reports_app_client",
            "app_key_id",
            "client_id",
            unique=True,
            postgresql_where=text("client_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    client_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    service_code: Mapped[str] = mapped_column(
        String(64), ForeignKey("services.code", onupdate="CASCADE")
    )
    description: Mapped[str] = mapped_column(Text, server_default="")
    status: Mapped[str] = mapped_column(String(16), server_default="open")
    status_notes: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False), nullable=True
    )
    h3_cell: Mapped[int | None] = mapped_column(BigInteger)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    address_string: Mapped[str | None] = mapped_column(Text)
    address_id: Mapped[str | None] = mapped_column(String(200))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    requested_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    observed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(16), server_default="api")
    #: HMAC of the phone's install id: lets the analysis merge repeats without
    #: keeping a value that identifies the device elsewhere.
    device_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    #: Who filed it, for counting distinct reporters (geo.privacy.reporter_hash);
    #: NULL for imported history, which counts by device or as itself.
    reporter_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    app_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    account_id: Mapped[str | None] = mapped_column(String(200))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("reports.id"))
    token_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    media_url: Mapped[str | None] = mapped_column(Text)
    confirmations: Mapped[int] = mapped_column(Integer, server_default="0")
    #: Server time of the last write (a trigger sets it on update), never a client's
    #: timestamp: the aggregate refresh finds what changed by it, imports included.
    changed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    #: The transaction that last wrote the row (the same trigger sets it): how the
    #: aggregate refresh finds what changed without a clock margin.
    changed_xact: Mapped[int | None] = mapped_column(
        Xid8(), server_default=text("pg_current_xact_id()")
    )


class ReporterContact(Base):
    """Who reported: kept apart so that no public query can join it by accident."""

    __tablename__ = "reporter_contacts"

    report_id: Mapped[int] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))


class ReportEvent(Base):
    """Append-only history of a report's status."""

    __tablename__ = "report_events"
    __table_args__ = (Index("ix_report_events_report", "report_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str | None] = mapped_column(String(16))
    notes: Mapped[str | None] = mapped_column(Text)
    actor_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Confirmation(Base):
    """Another resident's "me too" on an existing report."""

    __tablename__ = "report_confirmations"
    # One confirmation per reporter (not per device id, which anyone can send:
    # a unique device index told who had confirmed what).
    __table_args__ = (Index("ix_confirmations_reporter", "report_id", "reporter_hash"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    device_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    reporter_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Photo(Base):
    """An uploaded image, stored with all metadata removed."""

    __tablename__ = "photos"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("reports.id", ondelete="SET NULL"), index=True
    )
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    suggested_lat: Mapped[float | None] = mapped_column(Float)
    suggested_long: Mapped[float | None] = mapped_column(Float)
    thumbnail_ready: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    app_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class IdempotencyRecord(Base):
    """The first response to a POST with an ``Idempotency-Key``, replayed on retry."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_expires", "expires_at"),)

    #: The key scoped to its caller (API key id or "anon") and route, so two
    #: clients can never read each other's responses.
    scope_key: Mapped[str] = mapped_column(String(400), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), server_default="in_flight")
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    response: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    locked_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class OutboxMessage(Base):
    """Work to hand to RQ, written in the same transaction as the data it is about."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "id", postgresql_where=text("dispatched_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    queue: Mapped[str] = mapped_column(String(32))
    job: Mapped[str] = mapped_column(String(64))
    args: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    #: Deterministic RQ job id, so a message relayed twice is still one job.
    job_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    #: Not relayed before this time: debounces automatic hotspot refreshes so a
    #: burst of reports makes one run, not one per report.
    available_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Boundary(Base):
    """A polygon of the city: the city itself, a district or a census tract."""

    __tablename__ = "boundaries"
    __table_args__ = (
        CheckConstraint("kind IN ('city', 'district', 'tract')", name="boundaries_kind_check"),
        Index("ix_boundaries_geom", "geom", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str | None] = mapped_column(String(64))
    population: Mapped[int | None] = mapped_column(Integer)
    geom: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))



class AuditEvent(Base):
    """One staff action: what, on what, by whom, when (:mod:`geo.access.audit`)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_action", "action", "id"),
        Index("ix_audit_events_actor", "actor_key_id", "id"),
        Index("ix_audit_events_target", "target_type", "target_id"),
        Index("ix_audit_events_user", "actor_user_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    #: The key that acted (kept when the key is deleted: the name stays in ``actor``).
    actor_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    #: The person who acted, signed in (:mod:`geo.accounts`); null for keys and the CLI.
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    #: The person's email or the key's name at the time, or ``cli``.
    actor: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
