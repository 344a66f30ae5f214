"""Bring a database to the current schema: PostGIS first, then Alembic to head."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from geoalchemy2 import alembic_helpers
from sqlalchemy import Engine, create_engine, make_url, text

import migrations
from geo.db import make_engine

INI = Path(migrations.__file__).with_name("alembic.ini")


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    """Alembic filter: PostGIS's own tables are not ours; spatial indexes as GeoAlchemy2 sees."""
    if type_ == "table" and reflected and compare_to is None:
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


def alembic_config(url: str) -> Config:
    """An Alembic config for the packaged migrations, pointed at ``url``."""
    cfg = Config(str(INI))
    cfg.set_main_option("script_location", str(INI.parent))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Create the PostGIS extension if missing, then migrate to head."""
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    with engine.begin() as conn:
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@contextmanager
def scratch_database(admin_url: str, prefix: str) -> Iterator[str]:
    """Create ``<prefix>_<random>`` at head on ``admin_url``'s server, yield its URL, drop it.

    For tests and benchmarks: a database of their own that never touches another,
    dropped even when the body fails. ``admin_url`` names any database on the
    server (it is only used to create and drop ours).
    """
    base = make_url(admin_url).set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
        try:
            engine = make_engine(url)
            try:
                upgrade(engine)
            finally:
                engine.dispose()
            yield url
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
