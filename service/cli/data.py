"""Data commands: boundaries, reports and interventions import, and ``demo-data``."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
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

    One transaction: every row is checked, and if any is refused they are listed
    by row and column and nothing is kept. Reports whose service_request_id is
    already stored are skipped, so a file can be imported again safely. On a
    terminal a progress bar shows the rows done.
    """
    from geo.hotspots import aggregate
    from geo.reports.importer import RowsRefused, estimate_rows, import_file

    settings = _settings()
    engine = make_engine(settings.database_url)
    started = time.perf_counter()
    total = estimate_rows(file) if file.suffix.lower() in (".csv", ".txt") else None
    try:
        with _progress(total) as advance, engine.begin() as conn:
            result = import_file(conn, file, secret=settings.secret_key, indexes=indexes,
                                 progress=advance)
    except RowsRefused as exc:
        engine.dispose()
        listed = "\n".join(f"  {e.where}, column {e.column}: {e.message}" for e in exc.errors)
        unlisted = exc.total - len(exc.errors)
        more = f"\n  … and {unlisted} more" if unlisted else ""
        raise click.ClickException(
            f"{file}: refused {exc.total} row(s); nothing was imported:\n{listed}{more}"
        ) from exc
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
    skipped = ""
    if result.skipped_rows:
        more = ", …" if result.skipped > len(result.skipped_rows) else ""
        skipped = f" ({', '.join(result.skipped_rows)}{more})"
    click.echo(f"imported {result.inserted:,} rows, skipped {result.skipped:,} already "
               f"stored{skipped}, refused 0")
    click.echo(
        f"read {result.read} rows in {imported - started:.1f} s: imported "
        f"{result.inserted}, skipped {result.skipped} already present "
        f"({result.address_only} without a point, to be placed by staff); "
        f"hotspot aggregates brought up to date in {done - imported:.1f} s"
    )


@contextlib.contextmanager
def _progress(total: int | None) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr when it is a terminal; yields ``advance(rows done)``."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda done: None
        return
    with Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("rows", total=total)
        last = [0]

        def advance(done: int) -> None:
            # The total is estimated from the file's size; never let the bar overrun it.
            last[0] = done
            bar.update(task, completed=done, total=max(done, total or 0) or None)

        yield advance
        bar.update(task, completed=last[0], total=last[0])  # the estimate was only that


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
