"""The ``civicpulse`` command line: operations on the database, keys, data and processes.

``main`` is the console script. The core commands (``db``, ``keys``, ``services``,
``serve``) are here; each other area has its module, imported once below and
registered on ``main``: ``data`` (boundaries, reports import, demo data),
``hotspots``, ``processes`` (worker, relay), ``exports`` and ``users`` (staff accounts). They import
:mod:`service.cli.common`, never this module, so there is no import circle.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from geo.db import make_engine
from geo.schema import ROLES
from service.cli import data, exports, hotspots, processes, users
from service.cli.common import settings


@click.group()
def main() -> None:
    """CivicPulse: resident reports, risk hotspots and evidence exports."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create the PostGIS extension if missing and migrate to the latest schema."""
    from geo.migrate import upgrade

    engine = make_engine(settings().database_url)
    upgrade(engine)
    click.echo("database is at the latest schema")


@main.group()
def keys() -> None:
    """API keys."""


@keys.command("create")
@click.option("--role", required=True, type=click.Choice(list(ROLES)))
@click.option("--name", default="", help="Who or what the key is for.")
def keys_create(role: str, name: str) -> None:
    """Create an API key; it is printed once, as the last line."""
    from geo.access.keys import create_key

    engine = make_engine(settings().database_url)
    with engine.begin() as conn:
        key = create_key(conn, role, name)
    click.echo(f"created {role} key {name!r}; store it now, it cannot be shown again:")
    click.echo(key)


@keys.command("revoke")
@click.argument("key_id", type=int)
def keys_revoke(key_id: int) -> None:
    """Revoke the key with id KEY_ID (audited; see GET /api/v1/audit for key ids)."""
    from geo.access.keys import revoke_key

    engine = make_engine(settings().database_url)
    with engine.begin() as conn:
        if not revoke_key(conn, key_id):
            raise click.ClickException(f"no active key with id {key_id}")
    click.echo(f"revoked key {key_id}")


@main.group()
def services() -> None:
    """Report categories (Open311 services)."""


@services.command("load")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
def services_load(files: tuple[Path, ...]) -> None:
    """Load services from JSON lists shaped like Open311 services.json, with definitions.

    A file holding a list adds services; a file holding one Open311 service
    definition (``{"service_code": …, "attributes": […]}``, as
    /open311/v2/services/{code}.json answers) adds that service's questions and
    settings. So ``services load services.json services/*.json`` loads back what
    an endpoint serves.
    """
    from geo.errors import FieldError
    from geo.services import load_services, merge_definitions

    items: list[Any] = []
    definitions: list[Any] = []
    for file in files:
        try:
            doc = json.loads(file.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"{file}: not valid JSON ({exc})") from exc
        if isinstance(doc, list):
            items += doc
        elif isinstance(doc, dict) and "service_code" in doc and "service_name" not in doc:
            definitions.append(doc)
        else:
            raise click.ClickException(
                f"{file}: expected a JSON list of services or one service definition")
    engine = make_engine(settings().database_url)
    try:
        with engine.begin() as conn:
            count = load_services(conn, merge_definitions(items, definitions))
    except FieldError as exc:
        raise click.ClickException(f"{', '.join(map(str, files))}: {exc}") from exc
    finally:
        engine.dispose()
    click.echo(f"loaded {count} services")


@main.command("env")
def env_command() -> None:
    """Print the `export …` line of the running demo's settings: eval "$(civicpulse env)"."""
    from service.devstack import ENV_FILE

    if not ENV_FILE.is_file():
        raise click.ClickException(
            f"no demo environment at {ENV_FILE}: start `make demo` first, or set "
            "DATABASE_URL, REDIS_URL and the other settings yourself (README, Configuration)")
    click.echo(ENV_FILE.read_text(encoding="utf-8").strip())


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=max(2, (os.cpu_count() or 1) * 2), show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Run the production WSGI server (gunicorn)."""
    settings().require_public_origin()  # fail here, before gunicorn forks, if it is wrong
    argv = [
        sys.executable, "-m", "gunicorn", "service.wsgi:app",
        "--bind", f"{host}:{port}", "--workers", str(workers),
        "--worker-class", "gthread", "--threads", "4", "--graceful-timeout", "20",
        # No gunicorn access log: it writes query strings and Open311 tracking tokens.
        # The app's own JSON access log (service.observability) has the request id
        # and hashes secrets. gunicorn's own lines are JSON too (service.gunicorn_logging).
        "--logger-class", "service.gunicorn_logging.JsonLogger",
    ]
    os.execvp(argv[0], argv)


for _area in (data, hotspots, processes, exports, users):
    _area.register(main)

if __name__ == "__main__":
    main()
