"""service translations

A city's words for a service in other languages (name, description, group, its
questions and their answers), for the residents' app, issue 11.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 01:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "services",
        sa.Column("translations", postgresql.JSONB(astext_type=sa.Text()),
                  server_default=sa.text("'[]'::jsonb"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("services", "translations")
