"""hotspot_public_cells/areas: a run's public analysis, for callers who are not staff.

A run covering an ``aggregated`` service also stores the analysis the public may
see: at resolution 8 or coarser, and without the reports of cells where such a
service has fewer than 3 distinct reporters (geo.hotspots.public). Runs finished
before this migration have none, so the public sees nothing of them until a new
run replaces them (their cells could single out a lone report).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 22:30:00
"""
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for twin, table in (("hotspot_public_cells", "hotspot_cells"),
                        ("hotspot_public_areas", "hotspot_areas")):
        # Same columns, types, NOT NULLs and primary key as the run's own table.
        op.execute(f"CREATE TABLE {twin} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
                   "INCLUDING INDEXES)")
        op.execute(f"ALTER TABLE {twin} ADD CONSTRAINT {twin}_run_id_fkey FOREIGN KEY (run_id) "
                   "REFERENCES hotspot_runs (id) ON DELETE CASCADE")
    # LIKE copied the cells' indexes under generated names: name them as the model does.
    op.execute("DROP INDEX IF EXISTS hotspot_public_cells_geom_idx")
    op.execute("DROP INDEX IF EXISTS hotspot_public_cells_run_id_priority_rank_idx")
    op.execute("CREATE INDEX ix_hotspot_public_cells_geom ON hotspot_public_cells USING gist (geom)")
    op.execute("CREATE INDEX ix_hotspot_public_cells_rank ON hotspot_public_cells "
               "(run_id, priority_rank)")


def downgrade() -> None:
    op.execute("DROP TABLE hotspot_public_areas")
    op.execute("DROP TABLE hotspot_public_cells")
