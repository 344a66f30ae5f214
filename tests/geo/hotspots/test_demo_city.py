"""The hotspot engine on the demo city: its planted structure must come out of the analysis.

The demo plants lead paint in old housing all year and illegal dumping that starts
in the last three months at one site; a run that did not find them hot, or did not
call the dumping new/intensifying, would be wrong however good its unit tests look.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import h3
import numpy as np
import pytest
from sqlalchemy import Engine, text

from geo.db import make_engine
from geo.demo.build import load_demo
from geo.demo.city import LANDMARKS, to_lonlat
from geo.hotspots.engine import execute
from geo.hotspots.params import RunParams
from geo.hotspots.runs import create_run
from tests.geo.private_db import private_database

SECRET = "demo-hotspot-secret-0123"
END = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
TODAY = END.date() - dt.timedelta(days=1)


@pytest.fixture(scope="module")
def demo() -> Iterator[Engine]:
    """A private database with a demo city of 30,000 reports."""
    with private_database("hotspot_demo") as url:
        eng = make_engine(url)
        with eng.begin() as conn:
            load_demo(conn, secret=SECRET, reports=30_000, seed=5, end=END)
        yield eng
        eng.dispose()


def _run(engine: Engine, **params: object) -> int:
    with engine.begin() as conn:
        run_id = create_run(conn, RunParams.from_dict(params), enqueue=False)
    assert execute(engine, run_id, today=TODAY) == "succeeded"
    return run_id


def _cells_near(site_km: tuple[float, float], res: int, rings: int) -> list[int]:
    lon, lat = to_lonlat(np.array([site_km[0]]), np.array([site_km[1]]))
    centre = h3.latlng_to_cell(float(lat[0]), float(lon[0]), res)
    return [h3.str_to_int(c) for c in h3.grid_disk(centre, rings)]


def test_lead_paint_in_old_housing_is_a_hot_spot_area(demo):
    run_id = _run(demo, services=["lead_paint"], resolution=8, rings=1)
    near = _cells_near(LANDMARKS.old_housing, 8, 1)
    with demo.connect() as conn:
        best = conn.execute(
            text("SELECT max(gi_bin), min(priority_rank) FROM hotspot_cells "
                 "WHERE run_id = :r AND h3 = ANY(:near)"), {"r": run_id, "near": near},
        ).one()
        top_area = conn.execute(
            text("SELECT a.area_id FROM hotspot_areas a JOIN hotspot_cells c "
                 "ON c.run_id = a.run_id AND c.area_id = a.area_id "
                 "WHERE a.run_id = :r AND c.h3 = ANY(:near) ORDER BY a.priority_rank LIMIT 1"),
            {"r": run_id, "near": near},
        ).scalar()
    assert best[0] == 3  # 99 % confidence after FDR
    assert top_area is not None  # merged into an intervention area


def test_dumping_that_started_three_months_ago_is_labelled_emerging(demo):
    """Thirteen uninterrupted hot weeks at the end, never hot before.

    ArcGIS calls that "consecutive"; "new" is a cluster hot in the final step only
    (tested in test_hotspot_engine), "intensifying" one hot in ≥ 90 % of all steps.
    """
    run_id = _run(demo, services=["illegal_dumping"], resolution=8, rings=1, time_step="week")
    near = _cells_near(LANDMARKS.emerging_site, 8, 1)
    with demo.connect() as conn:
        trends = conn.execute(
            text("SELECT trend FROM hotspot_cells WHERE run_id = :r AND h3 = ANY(:near) "
                 "AND gi_bin > 0"), {"r": run_id, "near": near},
        ).scalars().all()
        elsewhere = conn.execute(
            text("SELECT count(*) FROM hotspot_cells WHERE run_id = :r "
                 "AND trend IN ('new_hot_spot', 'intensifying_hot_spot') AND h3 <> ALL(:near)"),
            {"r": run_id, "near": _cells_near(LANDMARKS.emerging_site, 8, 3)},
        ).scalar_one()
    assert trends, "the emerging site should be hot"
    assert set(trends) & {"new_hot_spot", "intensifying_hot_spot", "consecutive_hot_spot"}
    assert elsewhere <= 2  # background noise is not called emerging
