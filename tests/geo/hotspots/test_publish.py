"""Publishing a run: cells with their hexagons, areas as their union, visible at once."""

import h3
import numpy as np
from sqlalchemy import text

from geo.hotspots.params import RunParams
from geo.hotspots.publish import AreaResult, CellResult, publish
from geo.hotspots.runs import create_run, latest_run_id


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
