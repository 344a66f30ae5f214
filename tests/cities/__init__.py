"""Synthetic cities for tests: one builder, and the recipes the suites use.

A city is boundaries, reports (written through the real intake path) and
published hotspot runs, laid out around a :class:`Place`. Every suite builds its
city with :func:`build` and takes it down with :func:`remove` (or uses
:func:`standing`, which does both), so a module-scoped fixture reads::

    @pytest.fixture(scope="module")
    def city(app, engine):
        with standing(engine, prairie.build(engine, PLACES["evidence-pack"])) as built:
            yield built

Two rules keep a test from counting another test's reports:

* **A city has its own place.** :func:`build` refuses a place where the database
  already holds reports or boundaries, instead of silently doubling every count
  (issue 8: ``assert 2100 == 1050`` when two prairie cities stood on one spot in
  one xdist worker's database). Each suite has a fixed place of its own, so its
  numbers do not move with the H3 grid; :func:`remove` clears the place again, so
  a fixture that pytest sets up twice in one database (``--dist worksteal`` can
  revisit a module) builds the same city again. Places lie north of 41° N: tests
  that drop reports at random points keep within ±40° of the equator, and the
  Open311 ``place`` fixture within ±50° (a hit there is ~1e-7 per point).
* **A test that analyses every report in the database starts from** :func:`empty`.
  The hotspot engine without a boundary studies all reports there are; those
  tests clear the database, so their city is the only one in it.

Modules:

``tests.cities`` (this one)
    places, boundaries, reports, runs: :func:`build`, :func:`add_reports`,
    :func:`publish_run`, :func:`remove`, :func:`empty`.
``tests.cities.prairie``
    the evidence-pack city: four districts, ~1,060 reports full of secrets, a run.
``tests.cities.ogc``
    the OGC and tile city: labelled reports, an older, a latest and a queued run.
``tests.cities.map_page``
    the planners' map page: 61 hexagons, runs A and B, reports in the hot cluster.
``tests.cities.scatter``
    reports placed where a hotspot test wants them (in an emptied database).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text

from geo.hotspots import aggregate
from geo.hotspots.params import RunParams
from geo.hotspots.publish import AreaResult, CellResult, publish
from geo.hotspots.runs import create_run
from geo.reports.intake import NewReport, insert, prepare
from geo.services import ServiceInfo, services_by_code

#: The server key the test app runs with (tests.conftest.SECRET): device hashes match.
SECRET = "test-secret-key-0123456789"
_M_PER_DEG = 111_320.0


class PlaceTaken(RuntimeError):
    """A city was asked to stand where the database already holds reports or boundaries."""


@dataclass(frozen=True)
class Place:
    """Where a city stands: its centre and a square footprint ``2 * half_m`` wide.

    Everything the city puts down lies inside the footprint; :func:`build` checks
    that nothing else does.
    """

    name: str
    lat: float
    lng: float
    half_m: float = 5000.0

    @property
    def centre(self) -> tuple[float, float]:
        """``(lat, lng)`` of the centre."""
        return self.lat, self.lng

    def at(self, north_m: float, east_m: float) -> tuple[float, float]:
        """``(lat, lng)`` of the point ``north_m`` north and ``east_m`` east of the centre."""
        return (self.lat + north_m / _M_PER_DEG,
                self.lng + east_m / (_M_PER_DEG * math.cos(math.radians(self.lat))))

    def rect(self, west_m: float, south_m: float, east_m: float, north_m: float) -> dict:
        """GeoJSON Polygon of a rectangle given in metres from the centre."""
        (s, w), (n, e) = self.at(south_m, west_m), self.at(north_m, east_m)
        return {"type": "Polygon",
                "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}

    def envelope(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` in degrees of the footprint."""
        (s, w), (n, e) = self.at(-self.half_m, -self.half_m), self.at(self.half_m, self.half_m)
        return w, s, e, n


#: Every suite's place, in one table so that none overlaps another (tests/test_cities.py).
PLACES: dict[str, Place] = {p.name: p for p in (
    Place("evidence-pack", 44.0, -103.0, 2500),
    Place("evidence-exports", 44.0, -101.0, 2500),
    Place("ogc", 47.3769, 8.5417, 4500),
    Place("tiles", 47.5769, 8.5417, 4500),
    Place("map-page", 41.25, -73.54, 2500),
    Place("hotspots", 41.05, -73.54, 4000),  # in an emptied database (see empty())
    Place("residents-app", 45.52, -122.68, 3000),
    Place("staff-reports", 44.0, -97.0, 2500),
    Place("staff-evidence", 44.0, -99.0, 2500),
)}


@dataclass(frozen=True)
class Boundary:
    """A boundary to insert: a rectangle ``(west, south, east, north)`` in metres."""

    kind: str
    name: str
    rect: tuple[float, float, float, float]
    population: int | None = None
    code: str | None = None


@dataclass(frozen=True)
class Report:
    """A report to insert through intake (``lat``/``lng`` None: an address only)."""

    service: str
    lat: float | None
    lng: float | None
    when: dt.datetime
    device: str | None = None
    status: str = "open"
    label: str | None = None
    description: str = ""
    address: str | None = None
    contact: dict[str, str] = field(default_factory=dict)
    account_id: str | None = None
    attributes: dict[str, Any] | None = None  # None: answer the required questions


@dataclass
class City:
    """What a built city holds; recipes subclass it with what their tests look for."""

    place: Place
    boundaries: dict[str, int] = field(default_factory=dict)  # name -> id
    reports: dict[str, str] = field(default_factory=dict)  # label -> public id
    points: dict[str, tuple[float, float]] = field(default_factory=dict)  # label -> lat, lng
    report_ids: list[int] = field(default_factory=list)
    runs: list[int] = field(default_factory=list)  # removed with the city

    @property
    def centre(self) -> tuple[float, float]:
        """``(lat, lng)`` of the city's centre."""
        return self.place.centre

    @property
    def boundary_ids(self) -> list[int]:
        """Boundary ids in insertion order."""
        return list(self.boundaries.values())


def _answers(service: ServiceInfo) -> dict[str, Any]:
    """An answer to each required question of ``service`` (first choice, or 1)."""
    out: dict[str, Any] = {}
    for attr in service.attributes:
        if not attr.get("required"):
            continue
        values = [v["key"] for v in attr.get("values") or []]
        kind = attr.get("datatype", "string")
        out[attr["code"]] = (values[0] if kind == "singlevaluelist" else values[:1]
                             if kind == "multivaluelist" else 1 if kind == "number" else "x")
    return out


def add_reports(engine: Engine, reports: Sequence[Report], city: City | None = None) -> list[int]:
    """Write ``reports`` through intake (source ``import``, trusted); returns their ids in order.

    With ``city``, labelled reports are recorded in ``city.reports``/``city.points``.
    A status other than ``open`` is set afterwards, as staff would.
    """
    if not reports:
        return []
    with engine.begin() as conn:
        services = services_by_code(conn)
        rows = [
            prepare(NewReport(
                service_code=r.service, lat=r.lat, long=r.lng, description=r.description,
                address_string=r.address, device_id=r.device, contact=dict(r.contact),
                account_id=r.account_id, requested_at=r.when, source="import",
                # Each synthetic resident is believed: one device, one reporter.
                trusted=True,
                attributes=(r.attributes if r.attributes is not None
                            else _answers(services[r.service])),
            ), services, secret=SECRET)
            for r in reports
        ]
        created = insert(conn, rows, secret=SECRET)
        by_status: dict[str, list[int]] = {}
        for r, made in zip(reports, created, strict=True):
            if r.status != "open":
                by_status.setdefault(r.status, []).append(made.id)
        for status, ids in by_status.items():
            conn.execute(text("UPDATE reports SET status = :s WHERE id = ANY(:ids)"),
                         {"s": status, "ids": ids})
    ids = [made.id for made in created]
    if city is not None:
        city.report_ids.extend(ids)
        for r, made in zip(reports, created, strict=True):
            if r.label is not None:
                city.reports[r.label] = made.public_id
                if r.lat is not None and r.lng is not None:
                    city.points[r.label] = (r.lat, r.lng)
    return ids


def _envelope_sql() -> str:
    return "ST_MakeEnvelope(:w, :s, :e, :n, 4326)"


def _envelope_args(place: Place) -> dict[str, float]:
    w, s, e, n = place.envelope()
    return {"w": w, "s": s, "e": e, "n": n}


def build(engine: Engine, place: Place, *, boundaries: Sequence[Boundary] = (),
          reports: Sequence[Report] = ()) -> City:
    """Claim ``place``, then insert ``boundaries`` and ``reports`` and refresh the aggregate.

    Raises :class:`PlaceTaken` if reports or boundaries are already there.
    """
    with engine.begin() as conn:
        found, bounded = conn.execute(
            text(f"SELECT (SELECT count(*) FROM reports WHERE geom && {_envelope_sql()}), "
                 f"(SELECT count(*) FROM boundaries WHERE geom && {_envelope_sql()})"),
            _envelope_args(place),
        ).one()
        if found or bounded:
            raise PlaceTaken(
                f"{place.name} ({place.lat}, {place.lng}) already holds {found} reports and "
                f"{bounded} boundaries: another city stands there, or was not removed"
            )
        city = City(place)
        for b in boundaries:
            city.boundaries[b.name] = conn.execute(
                text("INSERT INTO boundaries (kind, name, code, population, geom) VALUES "
                     "(:kind, :name, :code, :pop, "
                     "ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(:geom), 4326))) RETURNING id"),
                {"kind": b.kind, "name": b.name, "code": b.code or b.name[:3],
                 "pop": b.population, "geom": json.dumps(place.rect(*b.rect))},
            ).scalar_one()
    add_reports(engine, reports, city)
    with engine.begin() as conn:
        aggregate.refresh(conn)
    return city


def publish_run(
    engine: Engine, city: City, cells: CellResult, areas: Sequence[AreaResult], *,
    params: RunParams | None = None, counts: dict[str, Any] | None = None, rings: int = 1,
    fingerprint: str | None = None,
) -> int:
    """Record a run with no job and publish ``cells`` and ``areas`` as its result."""
    with engine.begin() as conn:
        run_id = create_run(conn, params or RunParams(), trigger="api", enqueue=False)
        publish(conn, run_id, cells, areas, rings=rings,
                counts=counts if counts is not None else {"cells": len(cells.h3)},
                fingerprint=fingerprint or f"synthetic-{city.place.name}-{run_id}")
    city.runs.append(run_id)
    return run_id


def queue_run(engine: Engine, city: City, params: RunParams | None = None) -> int:
    """Record a queued run that no worker will pick up (no outbox job)."""
    with engine.begin() as conn:
        run_id = create_run(conn, params or RunParams(), trigger="api", enqueue=False)
    city.runs.append(run_id)
    return run_id


def remove(engine: Engine, city: City) -> None:
    """Delete the city's runs, every report and boundary in its footprint, and its reports.

    Reports that tests of the module added inside the footprint go too, so the place
    is free for the next build; the aggregate is rebuilt without them.
    """
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM hotspot_runs WHERE id = ANY(:ids)"), {"ids": city.runs})
        args = _envelope_args(city.place)
        conn.execute(text(f"DELETE FROM reports WHERE geom && {_envelope_sql()} "
                          "OR id = ANY(:ids)"), {**args, "ids": city.report_ids})
        conn.execute(text(f"DELETE FROM boundaries WHERE geom && {_envelope_sql()} "
                          "OR id = ANY(:ids)"), {**args, "ids": city.boundary_ids})
        aggregate.refresh(conn, full=True)


@contextmanager
def standing(engine: Engine, city: City) -> Iterator[City]:
    """Yield ``city`` (already built) and remove it afterwards, even if the tests failed."""
    try:
        yield city
    finally:
        remove(engine, city)


def empty(engine: Engine) -> None:
    """Remove every report, run, boundary and pending job: for tests that analyse all of it."""
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE reports, hotspot_runs, report_cell_days, report_cell_weeks, "
                          "aggregate_state, outbox CASCADE"))
        conn.execute(text("DELETE FROM boundaries"))


def new_tag() -> str:
    """A short unique string for names and ids a city writes."""
    return uuid.uuid4().hex[:6]
