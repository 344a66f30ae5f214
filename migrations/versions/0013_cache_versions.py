"""cache versions: a counter per cached table, bumped by a trigger on every change

Web processes keep API keys and services in memory. Each request reads these
counters (one small row each) and drops what was read under an older one, so a
revoked key or a changed service takes effect on the next request in every process.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 00:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

#: Tables whose changes invalidate the web processes' caches.
CACHED = ("api_keys", "services")


def upgrade() -> None:
    op.create_table(
        "cache_versions",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.execute("INSERT INTO cache_versions (name) VALUES " + ", ".join(
        f"('{table}')" for table in CACHED))
    # Statement level: a bulk load of services bumps the counter once.
    op.execute("""
        CREATE FUNCTION bump_cache_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE cache_versions SET version = version + 1 WHERE name = TG_TABLE_NAME;
            RETURN NULL;
        END $$""")
    for table in CACHED:
        op.execute(f"CREATE TRIGGER {table}_bump_cache_version "
                   f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION bump_cache_version()")


def downgrade() -> None:
    for table in CACHED:
        op.execute(f"DROP TRIGGER {table}_bump_cache_version ON {table}")
    op.execute("DROP FUNCTION bump_cache_version()")
    op.drop_table("cache_versions")
