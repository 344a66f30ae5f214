"""interventions and their evaluations

What the city did (where, when, for which services, at what cost) and the
latest answer to whether it changed the reports, for issue 10.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 22:00:00
"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "interventions",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("programme", sa.String(length=200), nullable=True),
        sa.Column("services", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False,
                                   from_text="ST_GeomFromEWKT", name="geometry"),
                  nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("cost", sa.Numeric(14, 2), nullable=True),
        sa.Column("funding_source", sa.String(length=200), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("pre_months", sa.SmallInteger(), nullable=True),
        sa.Column("post_months", sa.SmallInteger(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("created_by_key_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("end_date >= start_date", name="interventions_dates_check"),
        sa.CheckConstraint("cost IS NULL OR cost >= 0", name="interventions_cost_check"),
        sa.CheckConstraint("pre_months IS NULL OR pre_months BETWEEN 3 AND 60",
                           name="interventions_pre_months_check"),
        sa.CheckConstraint("post_months IS NULL OR post_months BETWEEN 1 AND 60",
                           name="interventions_post_months_check"),
        sa.ForeignKeyConstraint(["created_by_key_id"], ["api_keys.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_geospatial_index("ix_interventions_geom", "interventions", ["geom"], unique=False,
                               postgresql_using="gist", postgresql_ops={})
    op.create_index("ix_interventions_start_date", "interventions", ["start_date"], unique=False)
    op.create_table(
        "intervention_evaluations",
        sa.Column("intervention_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="queued", nullable=False),
        sa.Column("progress", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()),
                  server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')",
                           name="intervention_evaluations_status_check"),
        sa.CheckConstraint("progress BETWEEN 0 AND 100",
                           name="intervention_evaluations_progress_check"),
        sa.ForeignKeyConstraint(["intervention_id"], ["interventions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("intervention_id"),
    )


def downgrade() -> None:
    op.drop_table("intervention_evaluations")
    op.drop_index("ix_interventions_start_date", table_name="interventions")
    op.drop_geospatial_index("ix_interventions_geom", table_name="interventions",
                             postgresql_using="gist", column_name="geom")
    op.drop_table("interventions")
