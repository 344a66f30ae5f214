"""report_cell_days.reporters counts people, not reports plus confirmations: rebuild it.

A reporter is now a distinct person across reports and their confirmations (a
device once however often it reports or confirms; a confirmation without a
device adds nobody). Forgetting when the aggregate was refreshed makes the next
refresh rebuild it in full.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 22:00:00
"""
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM aggregate_state WHERE name = 'report_cell_days'")


def downgrade() -> None:
    op.execute("DELETE FROM aggregate_state WHERE name = 'report_cell_days'")
