"""``civicpulse hotspots …``: queue a hotspot run, or run it here and wait."""

from __future__ import annotations

import datetime as dt
import json

import click

from geo.db import make_engine
from geo.errors import FieldError
from geo.hotspots.params import RunParams


def register(main: click.Group) -> None:
    """Add the ``hotspots`` group to ``main``."""
    main.add_command(hotspots)


@click.group()
def hotspots() -> None:
    """Risk hotspot analysis (Gi* on H3 with FDR)."""


@hotspots.command("run")
@click.option("--resolution", type=int, default=9, show_default=True, help="H3 resolution")
@click.option("--rings", default="1", show_default=True, help="K rings, or 'auto'")
@click.option("--services", "services", multiple=True, metavar="CODES",
              help="Service codes, comma-separated or repeated (default: all)")
@click.option("--category", "category", multiple=True, hidden=True,
              deprecated="Use --services, the API's word for it.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="First day (inclusive)")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Last day (exclusive)")
@click.option("--half-life-days", type=float, help="Recency decay; none if absent")
@click.option("--boundary-id", type=int, help="Study area boundary")
@click.option("--measure", type=click.Choice(["counts", "rates"]), default="counts")
@click.option("--time-step", type=click.Choice(["week", "month"]), default="week")
@click.option("--wait", is_flag=True, help="Run here and wait, instead of queueing it")
def hotspots_run(
    resolution: int, rings: str, services: tuple[str, ...], category: tuple[str, ...],
    since: dt.datetime | None,
    until: dt.datetime | None, half_life_days: float | None, boundary_id: int | None,
    measure: str, time_step: str, wait: bool,
) -> None:
    """Queue a hotspot run (a worker runs it), or with --wait run it now and print the result."""
    from geo.hotspots.engine import execute
    from geo.hotspots.runs import create_run, get_run
    from service.cli.common import service_codes, settings

    raw = {
        "services": service_codes(*services, *category), "resolution": resolution,
        "rings": rings, "since": since.date() if since else None,
        "until": until.date() if until else None, "half_life_days": half_life_days,
        "boundary_id": boundary_id, "measure": measure, "time_step": time_step,
    }
    try:
        params = RunParams.from_dict({k: v for k, v in raw.items() if v not in (None, [])})
    except FieldError as exc:
        hint = f"--{exc.field.replace('_', '-')}"
        raise click.BadParameter(exc.message, param_hint=hint) from None
    engine = make_engine(settings().database_url)
    with engine.begin() as conn:
        run_id = create_run(conn, params, trigger="cli", enqueue=not wait)
    if not wait:
        click.echo(f"queued hotspot run {run_id}; a worker will run it")
        return
    try:
        execute(engine, run_id, progress=lambda p, step: click.echo(f"{p:3d}% {step}", err=True))
    except Exception as exc:  # noqa: BLE001 - the run row holds the error; say it and fail
        raise click.ClickException(f"hotspot run {run_id} failed: {exc}") from exc
    with engine.connect() as conn:
        run = get_run(conn, run_id)
    assert run is not None
    click.echo(json.dumps({"id": run_id, "status": run["status"], "rings": run["rings"],
                           "counts": run["counts"], "timings": run["timings"]}, indent=2))
