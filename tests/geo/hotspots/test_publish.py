"""Publishing a run: cells with their hexagons, areas as their union, visible at once."""

import h3
import numpy as np
from sqlalchemy import text

from geo.hotspots.params import RunParams
from geo.hotspots.publish import AreaResult, CellResult, publish
from geo.hotspots.runs import configuration_of, create_run, latest_run_id


def _cells(n=7):
    centre = h3.latlng_to_cell(41.05, -73.54, 9)
    disk = [h3.str_to_int(c) for c in h3.grid_disk(centre, 1)][:n]
    return CellResult(
        h3=np.array(disk, dtype=np.int64),
        reports=np.arange(n),
        weight=np.arange(n, dtype=float),
        reporters=np.arange(n),
        gi_z=np.linspace(-1, 3, n),
        gi_p=np.full(n, 0.01),
        gi_bin=np.array([0] * (n - 2) + [3, 3], dtype=np.int8),
        n_neighbors=np.full(n, 7),
        no_data=np.zeros(n, dtype=bool),
    ), disk


def test_publish_makes_run_visible_with_geometry(engine):
    cells, disk = _cells()
    with engine.begin() as conn:
        run = create_run(conn, RunParams())
        before = latest_run_id(conn)
    with engine.begin() as conn:
        area = AreaResult(1, disk[-2:], reports=11, weight=11.0, priority_score=1.0,
                          priority_rank=1, components={"significance": 1.0})
        publish(conn, run, cells, [area], counts={"cells": 7}, fingerprint="x", rings=1)
        publish(conn, run, cells, [area], counts={"cells": 7}, fingerprint="x", rings=1)
    with engine.connect() as conn:
        assert latest_run_id(conn) == run != before
        n, valid = conn.execute(
            text("SELECT count(*), bool_and(ST_IsValid(geom)) FROM hotspot_cells "
                 "WHERE run_id = :r"),
            {"r": run},
        ).one()
        assert (n, valid) == (7, True)
        # The area is the union of its two hexagons: one polygon, twice a cell's area.
        ratio = conn.execute(
            text(
                "SELECT ST_Area(a.geom::geography) / ST_Area(c.geom::geography) "
                "FROM hotspot_areas a JOIN hotspot_cells c ON c.run_id = a.run_id "
                "WHERE a.run_id = :r AND c.h3 = :h"
            ),
            {"r": run, "h": disk[-1]},
        ).scalar_one()
        assert abs(ratio - 2) < 0.01


def test_an_ad_hoc_run_never_replaces_the_standing_latest(engine):
    """A lead-paint run finishing after the city-wide run leaves "latest" where it was."""
    cells, _ = _cells()
    runs = {}
    with engine.begin() as conn:
        for name, params in (("standing", {}), ("lead", {"services": ["lead_paint"]}),
                             ("city_period", {"since": "2026-01-01"})):
            runs[name] = create_run(conn, RunParams.from_dict(params), trigger="cli")
    for name in ("standing", "lead", "city_period"):  # finished in this order
        with engine.begin() as conn:
            publish(conn, runs[name], cells, [], counts={}, fingerprint="x", rings=1)
    with engine.connect() as conn:
        assert latest_run_id(conn) == runs["standing"]
        stored = conn.execute(text("SELECT id, params FROM hotspot_runs WHERE id = ANY(:ids)"),
                              {"ids": list(runs.values())}).all()
    names = {run_id: configuration_of(params) for run_id, params in stored}
    assert names == {runs["standing"]: "city-wide", runs["lead"]: None,
                     runs["city_period"]: None}
