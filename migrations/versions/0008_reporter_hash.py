"""reporter_hash on reports and confirmations: one source counts as one reporter.

Reports and confirmations filed with an ``app`` key now store the keyed hash of
the client's network (geo.privacy.reporter_hash), and the >= 3-reporter rule counts
those, not device ids a client can invent. Rows written before have no network:
those filed with an ``app`` key count as one reporter per key (a forged crowd may
already be among them); staff-filed and imported rows keep counting by device or
as themselves (NULL). Confirmations without a device count as one legacy reporter.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 21:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("reports", sa.Column("reporter_hash", sa.LargeBinary(length=32), nullable=True))
    op.execute(
        "UPDATE reports r SET reporter_hash = sha256(convert_to('legacy-key|' || r.app_key_id, "
        "'UTF8')) FROM api_keys k WHERE k.id = r.app_key_id AND k.role = 'app'"
    )
    op.add_column(
        "report_confirmations",
        sa.Column("reporter_hash", sa.LargeBinary(length=32), nullable=True),
    )
    op.execute(
        "UPDATE report_confirmations SET reporter_hash = "
        "coalesce(device_hash, sha256(convert_to('legacy-confirmation', 'UTF8')))"
    )
    op.alter_column("report_confirmations", "reporter_hash", nullable=False)
    op.drop_index("uq_confirmations_device", table_name="report_confirmations")
    op.create_index(
        "ix_confirmations_reporter", "report_confirmations", ["report_id", "reporter_hash"]
    )


def downgrade() -> None:
    op.drop_index("ix_confirmations_reporter", table_name="report_confirmations")
    # Duplicate device rows may exist now (one device from two networks): keep the first.
    op.execute(
        "DELETE FROM report_confirmations c USING report_confirmations d "
        "WHERE c.report_id = d.report_id AND c.device_hash = d.device_hash AND c.id > d.id"
    )
    op.create_index(
        "uq_confirmations_device", "report_confirmations", ["report_id", "device_hash"],
        unique=True, postgresql_where=sa.text("device_hash IS NOT NULL"),
    )
    op.drop_column("report_confirmations", "reporter_hash")
    op.drop_column("reports", "reporter_hash")
