"""users and staff_sessions: people who sign in to the staff pages; audit names them

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 00:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), server_default="", nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column("oidc_issuer", sa.String(length=500), nullable=True),
        sa.Column("oidc_subject", sa.String(length=255), nullable=True),
        sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('planner', 'grant_writer', 'admin')",
                           name="users_role_check"),
        sa.CheckConstraint("email = lower(email)", name="users_email_lower_check"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
        sa.UniqueConstraint("oidc_issuer", "oidc_subject", name="users_oidc_subject_key"),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_staff_sessions_user", "staff_sessions", ["user_id"])
    op.add_column("audit_events", sa.Column("actor_user_id", sa.Integer(), nullable=True))
    op.create_foreign_key("audit_events_actor_user_id_fkey", "audit_events", "users",
                          ["actor_user_id"], ["id"], ondelete="SET NULL")
    op.create_index("ix_audit_events_user", "audit_events", ["actor_user_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_user", table_name="audit_events")
    op.drop_constraint("audit_events_actor_user_id_fkey", "audit_events", type_="foreignkey")
    op.drop_column("audit_events", "actor_user_id")
    op.drop_table("staff_sessions")
    op.drop_table("users")
