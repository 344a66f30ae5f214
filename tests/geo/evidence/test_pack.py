"""Evidence packs end to end on PostGIS: the numbers, the files, privacy, reproducibility."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import text

from geo.evidence import exports
from geo.evidence.params import resolve
from geo.h3cells import parent_sql
from tests.cities import PLACES, prairie, standing

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


def render(engine, tmp_path_factory, request: dict) -> tuple[dict, Path]:
    """Record and render an export like the job does; returns its params and pack dir."""
    with engine.begin() as conn:
        params = resolve(conn, request)
        export_id = exports.create(conn, params, requested_by=None, enqueue=False)
    out = tmp_path_factory.mktemp("exports")
    assert exports.render(engine, export_id, out) == "succeeded"
    with engine.connect() as conn:
        row = exports.get(conn, export_id)
    assert row["status"] == "succeeded" and row["progress"] == 100
    return row, Path(row["result_dir"]) / "pack"


@pytest.fixture(scope="module")
def city(app, engine):
    with standing(engine, prairie.build_city(engine, PLACES["evidence-pack"])) as built:
        yield built


@pytest.fixture(scope="module")
def packed(city, engine, tmp_path_factory):
    """The city-wide pack with unit costs and a budget that buys one of the two areas."""
    request = {"area": {"boundary_id": city.city_id}, "run": city.run_id, "budget": 300_000,
               "unit_costs": {"flooding": 800, "lead_paint": 9000}}
    return render(engine, tmp_path_factory, request)


def pdf_text(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def number_before(label: str, page: str) -> int:
    match = re.search(r"([\d,]+)(?: of [\d,]+)?\s*\n?\s*" + re.escape(label), page)
    assert match, f"{label!r} not on the page"
    return int(match.group(1).replace(",", ""))


def read_csv(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_headline_numbers_match_the_database(packed, city, engine):
    row, pack = packed
    page1 = pdf_text(pack / "evidence.pdf")[0]
    cell9 = parent_sql("r.h3_cell", 9)
    with engine.connect() as conn:
        # Straight from the reports (all are well inside the city): not from the aggregate.
        reports, problems = conn.execute(
            text(
                "SELECT count(*), count(DISTINCT (r.service_code, "
                f"{cell9}, (r.requested_at AT TIME ZONE 'UTC')::date, "
                " coalesce(encode(r.device_hash, 'hex'), r.id::text))) "
                "FROM reports r JOIN boundaries b ON b.id = :city "
                "AND ST_Intersects(b.geom, r.geom) "
                "WHERE r.status <> 'duplicate' AND r.service_code IN ('flooding', 'lead_paint') "
                "AND r.requested_at >= '2025-01-01' AND r.requested_at < '2026-01-01'"
            ),
            {"city": city.city_id},
        ).one()
        hot95, cells = conn.execute(
            text("SELECT count(*) FILTER (WHERE gi_bin >= 2), count(*) FROM hotspot_cells "
                 "WHERE run_id = :r"), {"r": city.run_id}).one()
        areas = conn.execute(text("SELECT count(*) FROM hotspot_areas WHERE run_id = :r"),
                             {"r": city.run_id}).scalar_one()
    assert reports == 1050 and problems == 1020  # the synthetic city's design, for the record
    assert number_before("Reports analysed", page1) == reports
    assert number_before("Problems after merging repeats", page1) == problems
    assert re.search(rf"{hot95:,} of {cells:,}\s*\n?\s*Hot spot cells", page1)
    assert number_before("Priority areas", page1) == areas == 2
    assert f"hotspot run {city.run_id}" in page1


def test_district_table_and_rates(packed):
    _, pack = packed
    rows = {r["district"]: r for r in read_csv(pack / "data" / "districts.csv")}
    assert set(rows) == set(prairie.POPULATIONS)
    assert sum(int(r["reports"]) for r in rows.values()) == 1050
    ne = rows["North-East"]
    assert float(ne["reports_per_1000"]) == round(int(ne["reports"]) / 8000 * 1000, 2)
    assert rows["South-East"]["reports_per_1000"] == ""  # population unknown, not zero
    assert max(rows.values(), key=lambda r: int(r["reports"]))["district"] == "North-East"
    text_all = "\n".join(pdf_text(pack / "evidence.pdf"))
    assert f"{float(ne['reports_per_1000']):,.1f}" in text_all


def test_geopackage_opens_with_gdal_with_every_cell(packed, city, engine):
    _, pack = packed
    with engine.connect() as conn:
        cells = conn.execute(text("SELECT count(*) FROM hotspot_cells WHERE run_id = :r"),
                             {"r": city.run_id}).scalar_one()
    info = subprocess.run(["ogrinfo", "-so", "-al", str(pack / "data" / "hotspot_cells.gpkg")],
                          capture_output=True, text=True, check=True).stdout
    counts = dict(re.findall(r"Layer name: (\w+).*?Feature Count: (\d+)", info, re.S))
    assert counts == {"hotspot_cells": str(cells), "priority_areas": "2"}
    assert "Geometry: Polygon" in info and "WGS 84" in info
    geojson = json.loads((pack / "data" / "hotspot_cells.geojson").read_text())
    assert len(geojson["features"]) == cells == len(read_csv(pack / "data" / "hotspot_cells.csv"))


def test_funding_request_buys_the_best_value_area(packed):
    _, pack = packed
    areas = read_csv(pack / "data" / "priority_areas.csv")
    assert [a["priority_rank"] for a in areas] == ["1", "2"]
    for a in areas:
        expected = int(a["problems_flooding"]) * 800 + int(a["problems_lead_paint"]) * 9000
        assert float(a["estimated_cost"]) == expected
    funded = [a for a in areas if a["funded"] == "true"]
    assert len(funded) == 1 and float(funded[0]["estimated_cost"]) <= 300_000
    text_all = " ".join(" ".join(pdf_text(pack / "evidence.pdf")).split())
    assert "Funding request" in text_all
    assert f"areas chosen by priority per dollar: {funded[0]['area_id']}." in text_all
    assert "Left out: area" in text_all


def test_no_resident_device_or_point_in_any_file(packed, city):
    row, pack = packed
    zipped = Path(row["result_dir"]) / exports.zip_name(row["id"])
    blobs = {p.name: p.read_bytes() for p in pack.rglob("*") if p.is_file()}
    blobs["zip"] = zipped.read_bytes()
    with zipfile.ZipFile(zipped) as zf:
        assert sorted(zf.namelist()) == sorted(f["name"] for f in row["files"])
        blobs.update({f"zip:{n}": zf.read(n) for n in zf.namelist()})
    blobs["pdf-text"] = "\n".join(pdf_text(pack / "evidence.pdf")).encode()
    assert len(city.secrets) > 5000
    for name, blob in blobs.items():
        lowered = blob.lower()
        leaked = [s for s in city.secrets if s.lower().encode() in lowered]
        assert not leaked, f"{name} contains {leaked[:3]}"
        for word in (b"secret lane", b"zebedee", b"example.org", b"device-", b"acct-"):
            assert word not in lowered, f"{name} contains {word!r}"
    # Places are H3 cells and areas only: never a point.
    for layer in ("hotspot_cells", "priority_areas"):
        doc = json.loads((pack / "data" / f"{layer}.geojson").read_text())
        assert {f["geometry"]["type"] for f in doc["features"]} <= {"Polygon", "MultiPolygon"}


def test_small_cells_of_a_non_public_service_are_suppressed(packed):
    _, pack = packed
    cells = read_csv(pack / "data" / "hotspot_cells.csv")
    hidden = [c for c in cells if c["suppressed"] == "true"]
    assert hidden and all(c["reports"] == c["reporters"] == c["weight"] == "" for c in hidden)
    shown = [c for c in cells if c["suppressed"] == "false" and c["reporters"] != "0"]
    assert all(int(c["reporters"]) >= 3 for c in shown)
    text_all = " ".join(" ".join(pdf_text(pack / "evidence.pdf")).split())
    assert f"Cells suppressed for privacy: {len(hidden)}" in text_all


def test_same_run_and_parameters_give_the_same_pack(packed, city, engine, tmp_path_factory):
    first_row, first = packed
    second_row, second = render(engine, tmp_path_factory, {
        "area": {"boundary_id": city.city_id}, "run": city.run_id, "budget": 300_000,
        "unit_costs": {"flooding": 800, "lead_paint": 9000}})
    assert first_row["params"] == second_row["params"]
    same = {f["name"]: f["sha256"] for f in first_row["files"] if f["name"] != "evidence.pdf"}
    again = {f["name"]: f["sha256"] for f in second_row["files"] if f["name"] != "evidence.pdf"}
    assert same == again and "data/hotspot_cells.gpkg" in same  # byte-identical, GPKG included

    def masked(pack):  # the PDF differs only in its id and generation time
        body = "\n".join(pdf_text(pack / "evidence.pdf"))
        body = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?", "T", body)
        return re.sub(r"(evidence pack|Evidence pack)\s+\d+", "P", body)

    assert masked(first) == masked(second)


def test_a_drawn_polygon_counts_like_the_district_it_traces(packed, city, engine,
                                                            tmp_path_factory):
    _, city_pack = packed
    half = prairie.HALF_M
    row, pack = render(engine, tmp_path_factory, {
        "area": {"type": "Feature", "properties": {"name": "Drawn north-east"},
                 "geometry": city.place.rect(0, 0, half, half)},
        "run": city.run_id, "services": ["flooding"], "formats": ["pdf", "csv"]})
    ne = next(r for r in read_csv(city_pack / "data" / "districts.csv")
              if r["district"] == "North-East")
    months = read_csv(pack / "data" / "monthly_counts.csv")
    assert {m["service_code"] for m in months} == {"flooding"} and len(months) == 12
    flooding_ne = sum(int(m["reports"]) for m in months)
    page1 = pdf_text(pack / "evidence.pdf")[0]
    assert number_before("Reports analysed", page1) == flooding_ne
    assert "Drawn north-east" in page1
    assert flooding_ne <= int(ne["reports"])  # the district's row holds lead paint too
    assert not (pack / "data" / "hotspot_cells.gpkg").exists()
    assert {f["name"] for f in row["files"]} >= {"evidence.pdf", "data/README.txt"}


def test_a_run_finer_than_the_aggregate_counts_from_the_reports(city, engine,
                                                                tmp_path_factory):
    run10 = prairie.publish_run(engine, city, res=10)
    _, pack = render(engine, tmp_path_factory, {"area": {"boundary_id": city.city_id},
                                                "run": run10, "formats": ["pdf", "csv"]})
    cell10 = parent_sql("r.h3_cell", 10)
    with engine.connect() as conn:
        problems = conn.execute(text(
            "SELECT count(DISTINCT (r.service_code, "
            f"{cell10}, (r.requested_at AT TIME ZONE 'UTC')::date, "
            " coalesce(encode(r.device_hash, 'hex'), r.id::text))) "
            "FROM reports r JOIN boundaries b ON b.id = :city AND ST_Intersects(b.geom, r.geom) "
            "WHERE r.status <> 'duplicate' AND r.requested_at >= '2025-01-01' "
            "AND r.requested_at < '2026-01-01'"), {"city": city.city_id}).scalar_one()
    page1 = pdf_text(pack / "evidence.pdf")[0]
    assert number_before("Reports analysed", page1) == 1050
    assert number_before("Problems after merging repeats", page1) == problems
    assert "H3 resolution 10" in page1


def test_readme_describes_every_column(packed):
    _, pack = packed
    readme = (pack / "data" / "README.txt").read_text()
    for name in ("hotspot_cells.csv", "priority_areas.csv", "monthly_counts.csv",
                 "districts.csv"):
        header = (pack / "data" / name).read_text().splitlines()[0].split(",")
        missing = [col for col in header if not re.search(rf"^\s+{col}\s", readme, re.M)]
        assert not missing, f"{name}: {missing} not described"


def test_page_one_rendered_for_a_human_to_look_at(packed):
    _, pack = packed
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "evidence-page1"
    subprocess.run(["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile",
                    str(pack / "evidence.pdf"), str(target)], check=True)
    png = target.with_suffix(".png")
    assert png.stat().st_size > 20_000
    assert len(PdfReader(pack / "evidence.pdf").pages) >= 2


@pytest.fixture(scope="module")
def with_intervention(city, engine, tmp_path_factory):
    """A drain-clearing programme on the growing cluster, evaluated, and a pack after it."""
    from geo.evaluation import evaluate, interventions

    with engine.begin() as conn:
        iid = interventions.create(conn, {
            "name": "Cluster drain clearing", "services": ["flooding"], "cost": 40_000,
            "geometry": PLACES["evidence-pack"].rect(500, 500, 1300, 1300),
            "start_date": "2025-07-01", "end_date": "2025-07-31", "pre_months": 6,
            "post_months": 4})
    assert evaluate.run(engine, iid, 1) == "succeeded"
    row, pack = render(engine, tmp_path_factory,
                       {"area": {"boundary_id": city.city_id}, "run": city.run_id})
    return iid, pack


def test_the_pack_says_whether_past_interventions_worked(with_intervention, engine):
    iid, pack = with_intervention
    with engine.connect() as conn:
        result = conn.execute(text("SELECT result FROM intervention_evaluations "
                                   "WHERE intervention_id = :i"), {"i": iid}).scalar_one()
    with open(pack / "data" / "intervention_effects.csv", newline="") as fh:
        rows = {int(r["intervention_id"]): r for r in csv.DictReader(fh)}
    row = rows[iid]
    assert row["name"] == "Cluster drain clearing" and row["evaluation_status"] == "succeeded"
    for key in ("effect_ratio", "ci_low", "ci_high", "treated_cells", "control_cells"):
        assert (float(row[key]) if row[key] else None) == result[key], key
    assert float(row["treated_pre_rate"]) == result["groups"]["treated"]["pre_rate"]
    assert row["caveats"].split(" | ") == result["caveats"]
    text_ = "\n".join(pdf_text(pack / "evidence.pdf"))
    assert "Did it work?" in text_ and "Cluster drain clearing" in text_
    charted = bool(row["treated_pre_rate"] and row["control_pre_rate"])
    assert (pack / "figures" / "intervention_effects.png").is_file() == charted
