"""reports.changed_xact: find what changed since a refresh by transaction, not by clock.

The aggregate refresh used to re-read every report changed in the ten minutes before
its last run (a clock margin for transactions that commit late), so every hotspot run
in the ten minutes after a bulk import re-aggregated the whole import. The writing
transaction's id, compared with the oldest transaction still running when the last
refresh began, needs no margin. Rows written before this migration keep NULL and are
covered by the old clock rule once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 22:50:00
"""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No default on ADD COLUMN: a volatile default would rewrite the whole table.
    op.execute("ALTER TABLE reports ADD COLUMN changed_xact xid8")
    op.execute("ALTER TABLE reports ALTER COLUMN changed_xact SET DEFAULT pg_current_xact_id()")
    op.execute("CREATE INDEX ix_reports_changed_xact ON reports (changed_xact)")
    op.execute(
        "CREATE OR REPLACE FUNCTION reports_touch_changed_at() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN NEW.changed_at := now(); "
        "NEW.changed_xact := pg_current_xact_id(); RETURN NEW; END $$"
    )
    op.execute("ALTER TABLE aggregate_state ADD COLUMN horizon xid8")


def downgrade() -> None:
    op.execute("ALTER TABLE aggregate_state DROP COLUMN horizon")
    op.execute(
        "CREATE OR REPLACE FUNCTION reports_touch_changed_at() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN NEW.changed_at := now(); RETURN NEW; END $$"
    )
    op.execute("DROP INDEX ix_reports_changed_xact")
    op.execute("ALTER TABLE reports DROP COLUMN changed_xact")
