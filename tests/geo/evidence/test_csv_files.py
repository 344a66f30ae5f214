"""The pack's CSV files always carry the README's header, even with no rows."""

import pytest

from geo.evidence import readme
from geo.evidence.pack import _write_csv


def test_an_empty_table_still_has_its_documented_header(tmp_path):
    services = [{"code": "lead_paint", "name": "Lead paint hazard"}]
    columns = readme.area_columns(services, ["significance"])
    path = tmp_path / "priority_areas.csv"
    _write_csv(path, [], columns)
    header = path.read_text().splitlines()
    assert header == [",".join(columns)]
    assert "problems_lead_paint" in header[0] and "component_significance" in header[0]


def test_rows_that_stray_from_the_documented_columns_are_refused(tmp_path):
    with pytest.raises(ValueError, match="differ"):
        _write_csv(tmp_path / "monthly_counts.csv", [{"month": "2026-01"}], readme.MONTH_COLUMNS)
