"""Alembic environment: the URL comes from the caller, GeoAlchemy2 renders spatial types."""

from __future__ import annotations

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool

from geo.metadata import metadata
from geo.migrate import include_object as _include_object

config = context.config
target_metadata = metadata


def run_migrations_online() -> None:
    """Run migrations on the connection handed in by ``geo.migrate`` or on the URL."""
    connection = config.attributes.get("connection")
    options = dict(
        target_metadata=target_metadata,
        include_object=_include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        compare_type=True,
    )
    if connection is not None:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, **options)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
