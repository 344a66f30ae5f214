"""Tables of staff accounts: people and their signed-in sessions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from geo.schema import Base

#: Roles a person may hold (``app`` is for phone apps' keys, never for a person).
STAFF_ROLES = ("planner", "grant_writer", "admin")


class User(Base):
    """A person who signs in: a local password, the identity provider, or both."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN (" + ", ".join(f"'{r}'" for r in STAFF_ROLES) + ")",
                        name="users_role_check"),
        CheckConstraint("email = lower(email)", name="users_email_lower_check"),
        UniqueConstraint("oidc_issuer", "oidc_subject", name="users_oidc_subject_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: Lower-cased; the sign-in name.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), server_default="")
    role: Mapped[str] = mapped_column(String(32))
    #: argon2id (PHC string); null for a person who signs in only through the provider.
    password_hash: Mapped[str | None] = mapped_column(Text)
    #: Base32 TOTP secret when two-step sign-in is on; it must be readable to check codes.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    #: The last TOTP time step accepted: a code is good once.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    oidc_issuer: Mapped[str | None] = mapped_column(String(500))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))
    #: Failed sign-ins in a row; reset by a good one.
    failed_logins: Mapped[int] = mapped_column(Integer, server_default="0")
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class StaffSession(Base):
    """A signed-in browser: only the SHA-256 of its random token is stored."""

    __tablename__ = "staff_sessions"
    __table_args__ = (Index("ix_staff_sessions_user", "user_id"),)

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: ``password`` or ``oidc``.
    method: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_seen_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
