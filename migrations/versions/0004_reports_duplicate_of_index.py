"""Index reports.duplicate_of so the foreign-key check is not a sequential scan.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 07:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_reports_duplicate_of",
        "reports",
        ["duplicate_of"],
        unique=False,
        postgresql_where=sa.text("duplicate_of IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_reports_duplicate_of", table_name="reports")
