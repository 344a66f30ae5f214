"""``civicpulse export``: request an evidence pack, and with ``--wait`` render it right here.

It records the same export as ``POST /api/v1/exports`` (same checks, same job);
without ``--wait`` a worker renders it from the ``exports`` queue.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Connection, text

from geo.db import make_engine
from geo.errors import FieldError
from geo.evidence import exports
from geo.evidence.params import FORMATS, resolve
from service.cli.common import service_codes
from service.cli.common import settings as _settings


def _area(conn: Connection, value: str) -> dict[str, Any]:
    """``city``, a boundary id (``12`` or ``boundary:12``) or a GeoJSON file."""
    if value == "city":
        ids = conn.execute(text("SELECT id FROM boundaries WHERE kind = 'city' ORDER BY id")).all()
        if len(ids) != 1:
            raise click.BadParameter(f"there are {len(ids)} city boundaries; give an id",
                                     param_hint="--area")
        return {"boundary_id": ids[0].id}
    number = value.removeprefix("boundary:")
    if number.isdigit():
        return {"boundary_id": int(number)}
    path = Path(value)
    if not path.is_file():
        raise click.BadParameter("city, a boundary id or a GeoJSON file", param_hint="--area")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"{path}: not JSON ({exc})", param_hint="--area") from exc
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features") or []
        if len(features) != 1:
            raise click.BadParameter(f"{path}: needs exactly one feature", param_hint="--area")
        doc = features[0]
    return doc


def _unit_costs(values: tuple[str, ...]) -> dict[str, float]:
    out = {}
    for item in values:
        code, _, dollars = item.partition("=")
        try:
            out[code] = float(dollars)
        except ValueError:
            raise click.BadParameter(f"{item!r}: expected CODE=DOLLARS",
                                     param_hint="--unit-cost") from None
    return out


@click.command("export")
@click.option("--area", required=True,
              help="city, a boundary id (12 or boundary:12), or a GeoJSON polygon file.")
@click.option("--services", "--service", "services", multiple=True, metavar="CODES",
              help="Service codes, comma-separated or repeated; default: the run's.")
@click.option("--since", help="First day, YYYY-MM-DD (default: the run's).")
@click.option("--until", help="Day after the last, YYYY-MM-DD (default: the run's).")
@click.option("--run", "run", default="latest", show_default=True, help="Hotspot run id or latest.")
@click.option("--budget", type=float, help="Dollars available for the funding request.")
@click.option("--unit-cost", "unit_costs", multiple=True, metavar="CODE=DOLLARS",
              help="Dollars per problem for a service (repeat); overrides CIVICPULSE_UNIT_COSTS.")
@click.option("--format", "formats", multiple=True, type=click.Choice(FORMATS),
              help="Files to produce (repeat); default all.")
@click.option("--wait", is_flag=True, help="Render now in this process instead of queueing.")
def export(area: str, services: tuple[str, ...], since: str | None, until: str | None, run: str,
           budget: float | None, unit_costs: tuple[str, ...], formats: tuple[str, ...],
           wait: bool) -> None:
    """Request an evidence pack (PDF summary and data files) for an area, services and period."""
    settings = _settings()
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        with engine.begin() as conn:
            request: dict[str, Any] = {"area": _area(conn, area),
                                       "run": int(run) if run.isdigit() else run}
            if services:
                request["services"] = service_codes(*services)
            for key, value in (("since", since), ("until", until), ("budget", budget)):
                if value is not None:
                    request[key] = value
            if unit_costs:
                request["unit_costs"] = _unit_costs(unit_costs)
            if formats:
                request["formats"] = list(formats)
            try:
                params = resolve(conn, request, default_unit_costs=settings.unit_costs)
            except FieldError as exc:
                raise click.ClickException(str(exc)) from exc
            # Rendered here: no job, so a worker never renders it a second time.
            export_id = exports.create(conn, params, requested_by=None, enqueue=not wait)
        if not wait:
            click.echo(f"queued evidence export {export_id}; a worker renders it "
                       "(civicpulse worker)")
            return
        click.echo(f"rendering evidence export {export_id} …")
        try:
            exports.render(engine, export_id, settings.export_dir,
                           progress=lambda p: click.echo(f"  {p:3d} %"))
        except Exception as exc:
            raise click.ClickException(f"export {export_id} failed: {exc}") from exc
        with engine.connect() as conn:
            row = exports.get(conn, export_id)
        assert row is not None
        click.echo(f"evidence export {export_id} is ready:")
        click.echo(str(Path(row["result_dir"]) / exports.zip_name(export_id)))
    finally:
        engine.dispose()


def register(main: click.Group) -> None:
    """Add ``export`` to ``main``."""
    main.add_command(export)
