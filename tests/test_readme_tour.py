"""The README tour, run as written against ``make demo``'s own stack (a smaller city).

The stack is ``python -m service.devstack demo`` in a database and Redis db of its
own; its banner gives the keys and the showcase ids the tour's placeholders ask
for. Then the tour must hold: every block's statuses, every request and command
it promises, the showcase pack non-empty, an ad-hoc run not replacing "latest".
Mutated copies of the README must fail, or the test would not guard anything.
"""

from __future__ import annotations

import csv
import io
import json
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from geo.demo.interventions import PROGRAMMES
from geo.migrate import scratch_database
from service.devstack import CLI_SETTINGS, free_port
from tests.conftest import ADMIN_URL
from tests.readme_tour import Call, Tour, TourError, blocks, missing

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
#: Enough reports for the showcase's lead-paint hot spots; the full demo has 60,000.
DEMO_REPORTS = 12_000
#: Bounds on waiting for the stack, so a broken one fails instead of hanging.
STARTUP_SECONDS = 600
JOB_SECONDS = 300

REQUESTS = [
    ("GET", r"/open311/v2/discovery\.json", 200),
    ("GET", r"/open311/v2/services\.xml", 200),
    ("GET", r"/open311/v2/services/flooding\.json", 200),
    ("POST", r"/open311/v2/requests\.json", 200),
    ("GET", r"/open311/v2/requests\.json\?.+", 200),
    ("POST", r"/api/v1/photos", 201),
    ("POST", r"/api/v1/reports", 201),
    ("GET", r"/api/v1/reports/\d+\?token=.+", 200),
    ("POST", r"/api/v1/reports/batch", 200),
    ("GET", r"/api/v1/reports/nearby\?.+", 200),
    ("POST", r"/api/v1/reports/\d+/confirmations", 201),
    ("PATCH", r"/api/v1/reports/\d+", 200),
    ("POST", r"/api/v1/hotspot-runs", 202),
    ("GET", r"/api/v1/hotspot-runs/\d+", 200),
    ("GET", r"/api/v1/hotspot-runs/\d+/cells", 200),
    ("GET", r"/tiles/hotspots\.json", 200),
    ("POST", r"/api/v1/exports", 202),
    ("GET", r"/api/v1/exports/\d+", 200),
]
COMMANDS = [
    r"civicpulse db upgrade",
    r"civicpulse services load examples/services\.json",
    r"civicpulse boundaries import examples/city\.gpkg --layer city --kind city",
    r"civicpulse boundaries import examples/city\.gpkg --layer districts --kind district",
    r"civicpulse keys create --role app .*",
    r"civicpulse reports import examples/history\.csv",
    r"civicpulse hotspots run .*lead_paint.* --wait",
    r"ogrinfo -ro -so OAPIF:\S+/ogc hotspots",
    r"ogrinfo -ro -so OAPIF:\S+/ogc hotspot-run-\d+",
]


@dataclass
class Demo:
    """The running demo: its URL, keys, showcase ids and the CLI's environment."""

    base: str
    keys: dict[str, str]
    district: int
    showcase_run: int
    env: dict[str, str]

    def get(self, path: str, role: str | None = "planner") -> Any:
        """GET ``path`` as JSON (with ``role``'s key)."""
        req = urllib.request.Request(self.base + path)
        if role:
            req.add_header("Authorization", f"Bearer {self.keys[role]}")
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - the demo's URL
            return json.loads(resp.read())

    def wait(self, path: str, done: Any, what: str, role: str = "planner") -> Any:
        """Poll ``path`` until ``done(doc)``; fail naming ``what`` after JOB_SECONDS."""
        deadline = time.monotonic() + JOB_SECONDS
        while time.monotonic() < deadline:
            doc = self.get(path, role)
            if done(doc):
                return doc
            time.sleep(1)
        pytest.fail(f"{what} did not finish: {doc}")


def _clear_redis(redis_url: str) -> None:
    """Drop what the demo's worker left in the session's Redis db (its claim key stays)."""
    conn = Redis.from_url(redis_url)
    stale = [key for key in conn.scan_iter() if key != b"civicpulse:test-claim"]
    if stale:
        conn.delete(*stale)


def _read_banner(proc: subprocess.Popen[str]) -> str:
    """The demo's output up to the end of its banner (then the rest is drained unread)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    out: list[str] = []
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line is None:
            break
        out.append(line)
        if "Ctrl-C stops everything" in line:
            return "".join(out)
    pytest.fail("make demo's stack did not come up:\n" + "".join(out)[-4000:])


def _exported(line: str) -> dict[str, str]:
    """The variables an ``export A=1 B='x y'`` line sets, as a shell would read them."""
    words = shlex.split(line)
    assert words[0] == "export", line
    return dict(word.split("=", 1) for word in words[1:])


def _without_settings(env: dict[str, str]) -> dict[str, str]:
    """``env`` minus every setting the demo's export line is meant to provide."""
    return {k: v for k, v in env.items()
            if k not in CLI_SETTINGS}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Demo]:
    """``make demo``'s stack on a smaller city, in a database of its own.

    It shares the session's Redis db (the machine has only 15 to claim): nothing
    else runs on this xdist worker meanwhile, and the demo's keys go afterwards.
    """
    files = tmp_path_factory.mktemp("tour")
    with scratch_database(ADMIN_URL, "civicpulse_tour") as database:
        _clear_redis(redis_url)
        env = {
            **os.environ, "DATABASE_URL": database.replace("+psycopg", ""),
            "REDIS_URL": redis_url, "CIVICPULSE_MEDIA_DIR": str(files / "media"),
            "CIVICPULSE_EXPORT_DIR": str(files / "exports"),
            "CIVICPULSE_LOCAL_DIR": str(files / "local"),
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "service.devstack", "demo", "--port",
             str(free_port()), "--web-workers", "1", "--reports", str(DEMO_REPORTS)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            text = _read_banner(proc)
            base = re.search(r"API docs\s+(\S+)/docs", text)
            ids = re.search(r"DISTRICT=(\d+) SHOWCASE_RUN=(\d+)", text)
            assert base and ids, text
            keys = dict(re.findall(r"^\s+(app|planner|grant_writer|admin)\s+(cp_\S+)$",
                                   text, re.M))
            # The CLI beside the demo gets exactly the export line the banner printed,
            # over an environment without the demo's own settings.
            line = re.search(r"^\s+(export DATABASE_URL=.*)$", text, re.M)
            assert line, text
            cli_env = {**_without_settings(env), **_exported(line[1])}
            found = Demo(base[1], keys, int(ids[1]), int(ids[2]), cli_env)
            found.wait("/api/v1/hotspot-runs?page_size=50", lambda d: sum(
                r["status"] == "succeeded" for r in d["runs"]) >= 2, "the demo's two runs")
            for item in found.get("/api/v1/interventions")["interventions"]:
                found.wait(item["evaluation_url"], lambda d: d["status"] in (
                    "succeeded", "failed"), f"the evaluation of {item['name']}")
            yield found
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            _clear_redis(redis_url)


def _last(calls: list[Call], method: str, path: str) -> Any:
    """The JSON answer of the last ``method`` request to exactly ``path``."""
    for call in reversed(calls):
        if call.method == method and call.url.split("://", 1)[-1].split("/", 1)[-1] == path:
            return call.json()
    raise KeyError(f"{method} /{path} was not requested before")


def _tour(demo: Demo, tmp_path: Path) -> Tour:
    """A tour whose placeholders come from the demo's banner and earlier answers."""
    def fill(name: str, calls: list[Call]) -> str:
        values = {"BASE": demo.base, "APP": demo.keys["app"], "PLANNER": demo.keys["planner"],
                  "GRANTS": demo.keys["grant_writer"], "DISTRICT": str(demo.district),
                  "SHOWCASE_RUN": str(demo.showcase_run)}
        if name in values:
            return values[name]
        source = {"REPORT": ("POST", "api/v1/reports", "id"),
                  "TOKEN": ("POST", "api/v1/reports", "token"),
                  "RUN": ("POST", "api/v1/hotspot-runs", "id"),
                  "EXPORT": ("POST", "api/v1/exports", "id")}[name]
        return str(_last(calls, source[0], source[1])[source[2]])

    return Tour(tmp_path / "tour", demo.env, fill, ROOT)


@pytest.fixture(scope="module")
def toured(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Tour:
    """The README tour, run once as written."""
    tour = _tour(demo, tmp_path_factory.mktemp("toured"))
    tour.run(README)
    return tour


def test_every_block_holds_and_the_tour_covers_what_it_promises(toured: Tour) -> None:
    assert missing(toured, REQUESTS, COMMANDS) == []


def test_the_batch_answers_200_with_a_report_and_an_error_in_order(toured: Tour) -> None:
    results = _last(toured.calls, "POST", "api/v1/reports/batch")["results"]
    assert "id" in results[0]["report"] and "error" not in results[0]
    assert results[1]["error"]["field"] == "lat" and "report" not in results[1]


def test_the_showcase_pack_has_hot_spots_areas_and_costs(demo: Demo, toured: Tour) -> None:
    export = _last(toured.calls, "POST", "api/v1/exports")
    assert export["params"]["unit_costs"] == {"lead_paint": 12000.0, "flooding": 2500.0}
    assert export["params"]["budget"] == 750000
    done = demo.wait(f"/api/v1/exports/{export['id']}", lambda d: d["status"] in (
        "succeeded", "failed"), "the showcase pack", role="grant_writer")
    assert done["status"] == "succeeded", done
    with urllib.request.urlopen(done["download_url"], timeout=60) as resp:  # noqa: S310
        pack = zipfile.ZipFile(io.BytesIO(resp.read()))

    def rows(name: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(pack.read(f"data/{name}.csv").decode())))

    hot = [c for c in rows("hotspot_cells") if int(c["gi_bin"]) > 0]
    areas = rows("priority_areas")
    assert hot and areas
    assert all(float(a["estimated_cost"]) > 0 for a in areas), areas[0]
    # The demo's two drain-clearing programmes in Old Harbor, evaluated by the worker.
    effects = rows("intervention_effects")
    assert sorted(e["name"] for e in effects) == sorted(p.name for p in PROGRAMMES)
    assert all(e["evaluation_status"] == "succeeded" for e in effects), effects


def test_an_ad_hoc_run_from_the_tour_leaves_latest_city_wide(demo: Demo, toured: Tour) -> None:
    runs = demo.get("/api/v1/hotspot-runs?page_size=50")["runs"]
    cli_lead = [r for r in runs if r["params"]["services"] == ["lead_paint"]
                and r["status"] == "succeeded" and r["id"] != demo.showcase_run]
    standing = [r for r in runs if r["configuration"] == "city-wide"
                and r["status"] == "succeeded"]
    assert cli_lead and standing
    # The ad-hoc run finished after a standing one (the demo's first), so a "latest"
    # that meant "last finished" would show it. An automatic city-wide refresh may
    # finish after it too (the tour posts reports): either way, latest is city-wide.
    assert max(r["finished_at"] for r in cli_lead) > min(r["finished_at"] for r in standing)
    cell = demo.get("/ogc/collections/hotspots/items?limit=1")["features"][0]
    assert cell["properties"]["run_id"] == max(standing, key=lambda r: r["finished_at"])["id"]


def test_the_example_files_were_loaded_by_the_tour(demo: Demo, toured: Tour) -> None:
    definition = demo.get("/open311/v2/services/lead_paint.json", None)
    assert definition["attributes"] and definition["privacy"] == "aggregated"
    districts = demo.get("/ogc/collections/boundaries/items?kind=district&limit=100", None)
    assert districts["numberMatched"] == 20
    history = demo.get("/open311/v2/requests/EX-00001.json", None)
    assert history[0]["service_request_id"] == "EX-00001"


def test_ids_in_the_tour_are_placeholders_never_literal_numbers() -> None:
    literal = re.compile(r"/(reports|hotspot-runs|exports)/\d|\"(boundary_id|run)\":\s*\d")
    for block in blocks(README):
        assert not literal.search(block.code), f"README line {block.line}: a literal id"


def _line_of(text: str, marker: str) -> int:
    """The line number of ``marker`` in ``text``."""
    return text[: text.index(marker)].count("\n") + 1


def _api_tour(text: str, until: str) -> tuple[int, int]:
    """The lines from the API tour's first block to ``until`` (the CLI set-up stays out)."""
    return _line_of(text, "## API tour"), _line_of(text, until)


def test_deleting_a_readme_command_fails_the_tour(demo: Demo, tmp_path: Path) -> None:
    lines = README.splitlines(keepends=True)
    number = _line_of(README, "curl $BASE/open311/v2/services.xml")
    mutated = "".join(lines[: number - 1] + lines[number:])
    tour = _tour(demo, tmp_path)
    tour.run(mutated, _api_tour(mutated, "A report (form"))
    assert "GET /open311/v2/services\\.xml → 200" in missing(tour, REQUESTS, [])
    tour.run(README, _api_tour(README, "A report (form"))  # as written, it is there
    assert "GET /open311/v2/services\\.xml → 200" not in missing(tour, REQUESTS, [])


def test_breaking_a_readme_command_fails_its_block(demo: Demo, tmp_path: Path) -> None:
    mutated = README.replace("$BASE/open311/v2/services/flooding.json",
                             "$BASE/open311/v2/services/flooding.jsn")
    with pytest.raises(TourError, match=r"flooding\.jsn answered 404"):
        _tour(demo, tmp_path).run(mutated, _api_tour(mutated, "A report (form"))


def test_a_wrong_expected_status_fails(demo: Demo, tmp_path: Path) -> None:
    wrong = README.replace('# → 200 [{"service_request_id"', '# → 201 [{"service_request_id"')
    with pytest.raises(TourError, match=r"answered 200, the README says \[201\]"):
        _tour(demo, tmp_path).run(wrong, _api_tour(wrong, "The native API"))


def test_a_placeholder_the_test_cannot_fill_fails(demo: Demo, tmp_path: Path) -> None:
    unknown = README.replace("APP=<the app key make demo printed>",
                             "APP=<the app key make demo printed>\nWHO=<someone>")
    with pytest.raises(TourError, match="no value for placeholder WHO"):
        _tour(demo, tmp_path).run(unknown, _api_tour(unknown, "Open311 GeoReport v2, as"))


def test_a_failing_shell_command_fails_its_block(demo: Demo, tmp_path: Path) -> None:
    broken = README.replace("OAPIF:$BASE/ogc hotspots", "OAPIF:$BASE/ogc hotspotz")
    setup, planners = (next(b for b in blocks(broken) if text in b.code)
                       for text in ("BASE=<", "ogrinfo"))
    tour = _tour(demo, tmp_path)
    tour.run_block(setup)
    with pytest.raises(TourError, match="exited"):
        tour.run_block(planners)
