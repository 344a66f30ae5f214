"""report_cell_weeks: the per-cell-day aggregate summed per ISO week, for week-binned runs.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_cell_weeks",
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.Column("cell", sa.BigInteger(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column("incidents", sa.Integer(), nullable=False),
        sa.Column("reporters", sa.Integer(), nullable=False),
        sa.Column("peak_day_reporters", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("service_code", "cell", "week"),
    )
    op.create_index(
        "ix_report_cell_weeks_service_week", "report_cell_weeks", ["service_code", "week"]
    )
    # The incremental refresh only re-reads groups whose reports changed: the weeks
    # of the days aggregated before this revision come from those days here.
    op.execute(
        "INSERT INTO report_cell_weeks SELECT service_code, cell, "
        "day - (EXTRACT(ISODOW FROM day)::int - 1) AS week, sum(reports), sum(incidents), "
        "sum(reporters), max(reporters) FROM report_cell_days GROUP BY 1, 2, 3 ORDER BY 3, 2"
    )


def downgrade() -> None:
    op.drop_index("ix_report_cell_weeks_service_week", table_name="report_cell_weeks")
    op.drop_table("report_cell_weeks")
