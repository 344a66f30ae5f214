"""Data commands: boundaries, reports and interventions import, and ``demo-data``."""

from __future__ import annotations

import time
from pathlib import Path

import click
from sqlalchemy.exc import DBAPIError

from geo.db import make_engine
from geo.errors import FieldError
from service.cli.common import settings as _settings


@click.group()
def boundaries() -> None:
    """City, district and tract polygons."""


@boundaries.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", required=True, type=click.Choice(["city", "district", "tract"]))
@click.option("--name-field", help="Property holding each polygon's name (default: name).")
@click.option("--population-field", help="Property holding the population (default: population).")
@click.option("--code-field", help="Property holding an official code (default: code or geoid).")
@click.option("--layer", help="Layer to read from a multi-layer file (GeoPackage).")
def boundaries_import(
    file: Path, kind: str, name_field: str | None, population_field: str | None,
    code_field: str | None, layer: str | None,
) -> None:
    """Import GeoJSON, GeoPackage or Shapefile polygons (any CRS) as boundaries of KIND.

    A boundary with the same kind and name is replaced; all or nothing.
    """
    from geo.boundaries import import_boundaries

    engine = make_engine(_settings().database_url)
    try:
        with engine.begin() as conn:
            result = import_boundaries(
                conn, file, kind=kind, name_field=name_field,
                population_field=population_field, code_field=code_field, layer=layer,
            )
    except FieldError as exc:
        raise click.ClickException(f"{file}: {exc}; nothing was imported") from exc
    finally:
        engine.dispose()
    click.echo(f"imported {result.inserted} new and replaced {result.updated} {kind} boundaries")


@click.group()
def reports() -> None:
    """Resident reports."""


@reports.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--indexes", type=click.Choice(["auto", "keep", "rebuild"]), default="auto", show_default=True,
    help="rebuild: set indexes aside and rebuild them (fast; blocks readers of reports until "
    "done). keep: insert with indexes (never blocks). auto: rebuild only when the file "
    "outnumbers the reports already stored.",
)
def reports_import(file: Path, indexes: str) -> None:
    """Bulk-load historic reports from a CSV (Open311 columns) or GeoJSON file.

    One transaction: a bad row names its row and column and nothing is kept.
    Reports whose service_request_id is already stored are skipped, so a file
    can be imported again safely.
    """
    from geo.hotspots import aggregate
    from geo.reports.importer import import_file

    settings = _settings()
    engine = make_engine(settings.database_url)
    started = time.perf_counter()
    try:
        with engine.begin() as conn:
            result = import_file(conn, file, secret=settings.secret_key, indexes=indexes)
    except FieldError as exc:
        engine.dispose()
        raise click.ClickException(f"{file}: {exc}; nothing was imported") from exc
    except DBAPIError as exc:  # e.g. the lock a rebuild needs was not granted in time
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        hint = " (try --indexes keep)" if "lock timeout" in reason else ""
        raise click.ClickException(
            f"{file}: the database refused the import: {reason}{hint}; nothing was imported"
        ) from exc
    imported = time.perf_counter()
    # After the import's commit, not inside it: a refresh cannot count rows of a
    # transaction still open, and would leave them to the next hotspot run.
    try:
        with engine.begin() as conn:
            aggregate.refresh(conn)
    finally:
        engine.dispose()
    done = time.perf_counter()
    click.echo(
        f"read {result.read} rows in {imported - started:.1f} s: imported "
        f"{result.inserted}, skipped {result.skipped} already present "
        f"({result.address_only} without a point, to be placed by staff); "
        f"hotspot aggregates brought up to date in {done - imported:.1f} s"
    )


@click.command("demo-data")
@click.option("--reports", "count", default=60_000, show_default=True, type=click.IntRange(100))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--replace", is_flag=True, help="Replace the demo city if it is already loaded.")
def demo_data(count: int, seed: int, replace: bool) -> None:
    """Load Port Ellis, a generated demo city: services, districts and a year of reports."""
    from geo.demo.build import DemoError, load_demo

    settings = _settings()
    engine = make_engine(settings.database_url)
    started = time.perf_counter()
    try:
        with engine.begin() as conn:
            summary = load_demo(
                conn, secret=settings.secret_key, reports=count, seed=seed, replace=replace
            )
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(
        f"loaded Port Ellis in {time.perf_counter() - started:.1f} s: {summary.services} "
        f"services, {summary.districts} districts ({summary.population:,} residents), "
        f"{summary.reports:,} reports"
    )


def register(main: click.Group) -> None:
    """Add this module's commands to ``main``."""
    main.add_command(boundaries)
    main.add_command(reports)
    main.add_command(demo_data)
    main.add_command(interventions)


@click.group()
def interventions() -> None:
    """What the city did, for evaluation."""


@interventions.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--layer", help="Layer to read from a multi-layer file (GeoPackage).")
def interventions_import(file: Path, layer: str | None) -> None:
    """Import interventions from GeoJSON, GeoPackage, Shapefile or CSV with a WKT column.

    Properties use the API's names (name, services, start_date, end_date, cost, …);
    each intervention's evaluation is queued. All or nothing.
    """
    from geo.evaluation.importer import import_interventions

    engine = make_engine(_settings().database_url)
    try:
        with engine.begin() as conn:
            ids = import_interventions(conn, file, layer=layer)
    except FieldError as exc:
        raise click.ClickException(f"{exc}; nothing was imported") from exc
    finally:
        engine.dispose()
    click.echo(f"imported {len(ids)} interventions (ids {', '.join(map(str, ids))}); "
               "their evaluations are queued")
