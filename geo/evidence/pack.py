"""Write an evidence pack: ``evidence.pdf``, ``figures/`` and ``data/`` (CSV, GeoJSON, GPKG).

Deterministic by construction: rows in a fixed order, floats rounded the same
way, no timestamps in the data files, GeoPackage dates pinned to the run's
finish time and zip entries dated 1980-01-01, so the same run and parameters give
byte-identical data files (the PDF differs only in its generation time).
Nothing here reads a report's point, contact, device or text.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import subprocess
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import h3
from sqlalchemy import Connection

from geo.evidence import budget, charts, effects, pdf, periods, query, readme
from geo.evidence.readme import readme_text

Progress = Callable[[int], None]


def version() -> str:
    """The installed CivicPulse version (what the provenance block prints)."""
    try:
        return metadata.version("civicpulse")
    except metadata.PackageNotFoundError:
        return "unknown"


def render(
    conn: Connection,
    params: dict[str, Any],
    out_dir: Path,
    *,
    export_id: int | None = None,
    generated_at: dt.datetime | None = None,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Write the pack for resolved ``params`` into ``out_dir``; returns its file list.

    ``conn`` should be in a REPEATABLE READ transaction (one snapshot for all tables).
    Each file is ``{"name", "bytes", "sha256"}``, sorted by name.
    """
    report = progress or (lambda _p: None)
    generated_at = generated_at or dt.datetime.now(dt.UTC)
    formats = set(params.get("formats") or ("pdf", "csv", "geojson", "gpkg"))
    ev = query.load(conn, params)
    effect_rows = [effects.csv_row(i) for i in effects.load(conn, params["services"])]
    report(40)
    needs = [budget.AreaNeed(a["area_id"], a["rank"], a["score"], a["incidents"], a["reports"],
                             a["population"]) for a in ev.areas]
    costs = budget.cost_areas(needs, params.get("unit_costs") or {})
    selection = budget.select(costs, params.get("budget")) if params.get("unit_costs") else None
    chosen = {c.need.area_id for c in selection.chosen} if selection else set()
    cost_of = {c.need.area_id: c.cost for c in costs}

    data = out_dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    components = sorted({k for c in ev.cells for k in (c["components"] or {})}
                        | {k for a in ev.areas for k in a["components"]})
    cell_rows = [_cell_row(c, components) for c in ev.cells]
    area_rows = [_area_row(a, ev, components, cost_of, chosen, selection) for a in ev.areas]
    if "csv" in formats:
        # Headers come from the README's column lists, so an empty file still says
        # what it would hold (a district with no priority area is a real answer).
        _write_csv(data / "hotspot_cells.csv", cell_rows, readme.cell_columns(components))
        _write_csv(data / "priority_areas.csv", area_rows,
                   readme.area_columns(ev.services, components))
        _write_csv(data / "monthly_counts.csv", [_month_row(m, ev) for m in ev.monthly],
                   readme.MONTH_COLUMNS)
        _write_csv(data / "districts.csv", [_district_row(d) for d in ev.districts],
                   readme.DISTRICT_COLUMNS)
        _write_csv(data / "intervention_effects.csv", effect_rows, effects.COLUMNS)
    if formats & {"geojson", "gpkg"}:  # the GeoPackage is converted from the GeoJSON
        cells_fc = _collection("hotspot_cells", [
            (row, _hexagon(row["h3"])) for row in cell_rows])
        areas_fc = _collection("priority_areas", [
            (row, a["geometry"]) for row, a in zip(area_rows, ev.areas, strict=True)])
        if "geojson" in formats:
            _write_json(data / "hotspot_cells.geojson", cells_fc)
            _write_json(data / "priority_areas.geojson", areas_fc)
        report(55)
        if "gpkg" in formats:
            _write_gpkg(data / "hotspot_cells.gpkg", cells_fc, areas_fc, ev.run["finished_at"])
    report(65)
    names = _planned(formats)
    (data / "README.txt").write_text(readme_text(ev, components, names), encoding="utf-8")
    if "pdf" in formats:
        figures = out_dir / "figures"
        figures.mkdir(exist_ok=True)
        map_png = charts.hotspot_map(ev.cells, ev.map_layers["area"], ev.map_layers["districts"],
                                     figures / "hotspot_map.png")
        report(75)
        trend_png = charts.trend_chart(
            ev.monthly, ev.services, ev.months, figures / "monthly_trend.png",
            full=[periods.is_full_month(m, ev.since, ev.until) for m in ev.months])
        effects_png = effects.chart(effect_rows, figures / "intervention_effects.png")
        report(85)
        pdf.render(ev, costs, selection, map_png, trend_png, out_dir / "evidence.pdf",
                   export_id=export_id, generated_at=generated_at, version=version(),
                   files=names, effects=effect_rows, effects_png=effects_png)
    report(95)
    return manifest(out_dir)


def _planned(formats: set[str]) -> list[str]:
    names = ["data/README.txt"]
    if "csv" in formats:
        names += ["data/hotspot_cells.csv", "data/priority_areas.csv", "data/monthly_counts.csv",
                  "data/districts.csv", "data/intervention_effects.csv"]
    if "geojson" in formats:
        names += ["data/hotspot_cells.geojson", "data/priority_areas.geojson"]
    if "gpkg" in formats:
        names.append("data/hotspot_cells.gpkg")
    if "pdf" in formats:
        names += ["evidence.pdf", "figures/hotspot_map.png", "figures/monthly_trend.png"]
    return sorted(names)


def manifest(root: Path) -> list[dict[str, Any]]:
    """Every file under ``root``: relative name, size and SHA-256, sorted by name."""
    out = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        out.append({"name": path.relative_to(root).as_posix(), "bytes": path.stat().st_size,
                    "sha256": digest})
    return out


def write_zip(root: Path, target: Path) -> Path:
    """Zip ``root``'s files with fixed dates and order (same files, same bytes)."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for item in manifest(root):
            info = zipfile.ZipInfo(item["name"], date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, (root / item["name"]).read_bytes())
    return target


def _num(x: Any, digits: int = 6) -> Any:
    if x is None or isinstance(x, (bool, int)):
        return x
    return round(float(x), digits)


def _cell_row(c: dict[str, Any], components: Sequence[str]) -> dict[str, Any]:
    hide = c["suppressed"]
    comp = c["components"] or {}
    row: dict[str, Any] = {
        "h3": c["h3"], "district": c["district"],
        "reports": None if hide else c["reports"],
        "weight": None if hide else _num(c["weight"], 4),
        "reporters": None if hide else c["reporters"],
        "gi_z": _num(c["gi_z"], 4), "gi_p": float(f"{c['gi_p']:.4g}"), "gi_bin": c["gi_bin"],
        "n_neighbors": c["n_neighbors"], "no_data": c["no_data"], "trend": c["trend"],
        "area_id": c["area_id"], "priority_score": _num(c["priority_score"]),
        "priority_rank": c["priority_rank"],
    }
    for name in components:
        # The reports component is a count in disguise (share of the busiest cell).
        value = None if (hide and name == "reports") else comp.get(name)
        row[f"component_{name}"] = _num(value)
    row["suppressed"] = hide
    return row


def _area_row(a: dict[str, Any], ev: query.Evidence, components: Sequence[str],
              cost_of: dict[int, float | None], chosen: set[int],
              selection: budget.Selection | None) -> dict[str, Any]:
    hide = a["suppressed"]
    row: dict[str, Any] = {
        "priority_rank": a["rank"], "area_id": a["area_id"], "districts": a["districts"],
        "cells": a["cells"], "reports": None if hide else a["reports"],
    }
    for s in ev.services:
        row[f"problems_{s['code']}"] = None if hide else a["incidents"].get(s["code"], 0)
    row["population"] = _num(a["population"], 1)
    row["trend"] = a["trend"]
    row["priority_score"] = _num(a["score"])
    for name in components:
        value = a["components"].get(name)
        row[f"component_{name}"] = None if (hide and name == "reports") else _num(value)
    row["estimated_cost"] = None if hide else _num(cost_of.get(a["area_id"]), 2)
    row["funded"] = (a["area_id"] in chosen) if selection is not None else None
    row["suppressed"] = hide
    return row


def _month_row(m: dict[str, Any], ev: query.Evidence) -> dict[str, Any]:
    name = next(s["name"] for s in ev.services if s["code"] == m["service_code"])
    return {"service_code": m["service_code"], "service_name": name,
            "month": m["month"].strftime("%Y-%m"), "days_in_period": m["days"],
            "reports": m["reports"],
            "problems": m["incidents"]}


def _district_row(d: dict[str, Any]) -> dict[str, Any]:
    return {"district": d["district"], "code": d["code"], "population": d["population"],
            "population_in_area": d["population_in_area"], "reports": d["reports"],
            "problems": d["incidents"], "reports_per_1000": d["per_1000"]}


def _csv_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _write_csv(path: Path, rows: list[dict[str, Any]], columns: Iterable[str]) -> None:
    header = list(columns)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        if list(row) != header:  # the README documents exactly these columns, in order
            raise ValueError(f"{path.name}: columns {list(row)} differ from {header}")
        writer.writerow([_csv_value(v) for v in row.values()])
    path.write_text(buf.getvalue(), encoding="utf-8")


def _hexagon(cell: str) -> dict[str, Any]:
    ring = [[round(lng, 7), round(lat, 7)] for lat, lng in h3.cell_to_boundary(cell)]
    ring.append(ring[0])
    twice_area = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False))
    # RFC 7946 asks for counter-clockwise exterior rings.
    return {"type": "Polygon", "coordinates": [ring if twice_area > 0 else ring[::-1]]}


def _collection(name: str, items: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "name": name, "features": [
        {"type": "Feature", "properties": props, "geometry": geom} for props, geom in items]}


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    path.write_text(json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n",
                    encoding="utf-8")


def _write_gpkg(path: Path, cells: dict[str, Any], areas: dict[str, Any],
                stamp: dt.datetime) -> None:
    """GeoPackage via GDAL's ogr2ogr, dates pinned so the same run gives the same file."""
    env = {**os.environ, "OGR_CURRENT_DATE": stamp.astimezone(dt.UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z")}
    path.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        layers = [("hotspot_cells", cells)] + ([("priority_areas", areas)]
                                               if areas["features"] else [])
        for i, (layer, doc) in enumerate(layers):
            src = Path(tmp) / f"{layer}.geojson"
            _write_json(src, doc)
            cmd = ["ogr2ogr", "-f", "GPKG", str(path), str(src), "-nln", layer,
                   "-a_srs", "EPSG:4326"]
            if i:
                cmd.insert(1, "-update")
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
            if done.returncode != 0:
                raise RuntimeError(f"ogr2ogr failed for {layer}: {done.stderr.strip()[:500]}")
