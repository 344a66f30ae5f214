"""An attacker reads a forwarded evidence pack for one lone lead-paint report.

Issue 9: ``data/hotspot_cells.csv`` marked 1-2-reporter cells ``suppressed=true``
while empty cells read ``false``, so the flag itself meant "one or two people
reported here", and the cells' z, rank and no-data placed the report anyway.
Packs of a run with a public twin show the twin; the test renders the same pack
with and without one lone report and requires every data file to be identical.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.evidence import exports
from geo.evidence.params import resolve
from tests.cities.scatter import CENTRE
from tests.service.test_hotspot_run_privacy import VICTIM, _lead, _run
from tests.service.test_hotspot_run_privacy import city as city  # noqa: F401 - the fixture

AREA = {"type": "Polygon", "coordinates": [[
    [CENTRE[1] - 0.06, CENTRE[0] - 0.05], [CENTRE[1] + 0.06, CENTRE[0] - 0.05],
    [CENTRE[1] + 0.06, CENTRE[0] + 0.05], [CENTRE[1] - 0.06, CENTRE[0] + 0.05],
    [CENTRE[1] - 0.06, CENTRE[0] - 0.05],
]]}


def _pack(engine, tmp_path: Path, run_id: int) -> dict[str, bytes]:
    tmp_path.mkdir()
    with engine.begin() as conn:
        params = resolve(conn, {"area": AREA, "run": run_id})
        export_id = exports.create(conn, params, requested_by=None, enqueue=False)
    assert exports.render(engine, export_id, tmp_path) == "succeeded"
    with engine.connect() as conn:
        pack = Path(exports.get(conn, export_id)["result_dir"]) / "pack"
    return {p.name: p.read_bytes() for p in sorted((pack / "data").glob("*.csv"))}


@pytest.mark.parametrize("services", [["lead_paint"], []], ids=["lead-only", "city-wide"])
def test_a_lone_lead_report_leaves_no_trace_in_a_pack(city, tmp_path, services):  # noqa: F811
    before = _pack(city, tmp_path / "a", _run(city, services))
    _lead(city, [VICTIM], ["victim"], [12])
    after = _pack(city, tmp_path / "b", _run(city, services))
    assert "hotspot_cells.csv" in before
    for name, content in before.items():
        assert after[name] == content, name
    # The cluster (five households) is in the pack: the public analysis is not empty.
    assert before["hotspot_cells.csv"].count(b"\n") > 2
