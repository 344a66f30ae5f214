"""Write the example input files of this folder from the demo city, Port Ellis.

    .venv/bin/python examples/make_examples.py [postgresql://postgres@127.0.0.1:5432/postgres]

The districts are cut with PostGIS, as the demo cuts them, in a scratch database
created on that server and dropped after. GDAL's ``ogr2ogr`` writes the GeoPackage. The
files are committed; run this again only when the demo city changes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from geo.db import make_engine  # noqa: E402
from geo.demo.build import city_geojson, district_features  # noqa: E402
from geo.demo.city import CITY_NAME  # noqa: E402
from geo.demo.reports import generate  # noqa: E402
from geo.demo.services import DEMO_SERVICES  # noqa: E402
from geo.migrate import scratch_database  # noqa: E402
from geo.reports.import_rows import FIELDS  # noqa: E402

#: A fixed end, so the file does not change with the day it is made.
HISTORY_END = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
HISTORY_ROWS = 40
#: Where the tour's flood photo says it was taken (its EXIF GPS).
PHOTO_LAT, PHOTO_LON = 30.3652, -88.2101


def services() -> None:
    """services.json: the demo's services, with their questions and privacy."""
    (HERE / "services.json").write_text(json.dumps(DEMO_SERVICES, indent=2) + "\n")


def geopackage(server: str) -> None:
    """city.gpkg: layer ``city`` (the city limits) and layer ``districts``."""
    city = city_geojson()
    with scratch_database(server, "civicpulse_examples") as url:
        engine = make_engine(url)
        with engine.connect() as conn:
            districts = district_features(conn, city)
        engine.dispose()
    population = sum(f["properties"]["population"] for f in districts)
    layers = {
        "city": [{"type": "Feature", "geometry": city,
                  "properties": {"name": CITY_NAME, "code": "PE", "population": population}}],
        "districts": districts,
    }
    target = HERE / "city.gpkg"
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, features in layers.items():
            src = Path(tmp) / f"{name}.geojson"
            src.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
            update = ["-update"] if target.exists() else []
            subprocess.run(["ogr2ogr", "-f", "GPKG", *update, "-nln", name, str(target),
                            str(src)], check=True)


def history() -> None:
    """history.csv: a sample of a year of reports, with Open311 column names."""
    rows = generate(HISTORY_ROWS * 50, seed=7, end=HISTORY_END).rows
    sample = [values for _, values in rows[::50]][:HISTORY_ROWS]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for number, values in enumerate(sample, start=1):
        writer.writerow([f"EX-{number:05d}", *values[1:]])
    (HERE / "history.csv").write_text(out.getvalue())


def photo() -> None:
    """flood.jpg: a small picture whose EXIF says where it was taken, as a phone's does."""
    def dms(value: float) -> tuple[float, float, float]:
        value = abs(value)
        minutes = (value - int(value)) * 60
        return (float(int(value)), float(int(minutes)), round((minutes - int(minutes)) * 60, 4))

    image = Image.new("RGB", (320, 240), (92, 120, 140))
    image.paste((60, 80, 96), (0, 150, 320, 240))  # water over the street
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: dms(PHOTO_LAT), 3: "W", 4: dms(PHOTO_LON)})
    exif[0x010F] = "ExamplePhone"
    image.save(HERE / "flood.jpg", "JPEG", quality=80, exif=exif)


if __name__ == "__main__":
    services()
    geopackage(sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/postgres")
    history()
    photo()
    print("wrote", ", ".join(sorted(p.name for p in HERE.iterdir() if p.suffix != ".py")))
