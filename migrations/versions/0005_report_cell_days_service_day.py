"""Index report_cell_days by (service, day): the incremental refresh replaces those groups.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 07:20:00
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_report_cell_days_service_day", "report_cell_days", ["service_code", "day"]
    )


def downgrade() -> None:
    op.drop_index("ix_report_cell_days_service_day", table_name="report_cell_days")
