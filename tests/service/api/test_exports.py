"""Evidence exports on the API: who may ask, bad input, the job through RQ, signed downloads."""

from __future__ import annotations

import io
import time
import zipfile
from urllib.parse import parse_qs, urlsplit

import pytest
from redis import Redis
from rq import Queue, Worker
from sqlalchemy import text

from geo.errors import FieldError
from geo.evidence import exports, links
from geo.evidence.params import MAX_VERTICES, resolve
from geo.hotspots.params import RunParams
from geo.hotspots.runs import create_run
from tests.cities import PLACES, prairie, standing
from tests.conftest import SECRET
from workers import context
from workers.export_jobs import render_export
from workers.relay import relay_once

URL = "/api/v1/exports"


@pytest.fixture(scope="module")
def city(app, engine):
    with standing(engine, prairie.build_city(engine, PLACES["evidence-exports"], seed=9)) as built:
        yield built


@pytest.fixture
def job_context(settings):
    """Jobs, and the work-horses RQ forks, use the test settings."""
    context.install(settings)
    yield settings
    context.install(None)


@pytest.fixture
def rq_redis(redis_url, engine):
    """Redis without RQ keys, and an outbox where only this test's rows are pending."""
    conn = Redis.from_url(redis_url)
    with engine.begin() as db:
        db.execute(text("UPDATE outbox SET dispatched_at = now() WHERE dispatched_at IS NULL"))
    for key in conn.scan_iter("rq:*"):
        conn.delete(key)
    yield conn
    for key in conn.scan_iter("rq:*"):
        conn.delete(key)
    conn.close()


def body(city, **extra):
    return {"area": {"boundary_id": city.city_id}, "run": city.run_id, **extra}


def count(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM evidence_exports")).scalar_one()


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("app", 403), ("grant_writer", 202),
                                              ("planner", 202), ("admin", 202)])
def test_who_may_request_an_export(client, api_keys, city, role, status):
    resp = client.post(URL, json=body(city), headers=api_keys.headers(role))
    assert resp.status_code == status, resp.get_json()


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("app", 403), ("grant_writer", 200),
                                              ("planner", 200), ("admin", 200)])
def test_who_may_read_an_export(client, api_keys, city, role, status):
    created = client.post(URL, json=body(city), headers=api_keys.headers("grant_writer"))
    resp = client.get(created.headers["Location"], headers=api_keys.headers(role))
    assert resp.status_code == status


def test_unknown_export_is_404(client, api_keys):
    assert client.get(f"{URL}/987654321", headers=api_keys.headers("planner")).status_code == 404


def _square(n):
    """A valid polygon with ``n`` vertices (a fine circle)."""
    import math

    lat, lng = PLACES["evidence-exports"].centre
    ring = [[lng + 0.01 * math.cos(2 * math.pi * i / (n - 1)),
             lat + 0.01 * math.sin(2 * math.pi * i / (n - 1))] for i in range(n - 1)]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


BOWTIE = {"type": "Polygon", "coordinates": [[[-103, 44], [-102.9, 44.1], [-102.9, 44],
                                              [-103, 44.1], [-103, 44]]]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"area": None}, "area"),
        ({"area": {"boundary_id": 987654}}, "area.boundary_id"),
        ({"area": {"type": "Point", "coordinates": [-103, 44]}}, "area"),
        ({"area": BOWTIE}, "area"),
        ({"area": _square(MAX_VERTICES + 2)}, "area.coordinates"),
        ({"area": {"type": "Polygon", "coordinates": [[[-103, 44], [-102, 44], [-103, 91],
                                                       [-103, 44]]]}}, "area.coordinates"),
        ({"services": ["nope"]}, "services"),
        ({"services": ["pothole"]}, "services"),  # exists, but the run did not analyse it
        ({"since": "2025-02-30"}, "since"),
        ({"since": "last year"}, "since"),
        ({"since": "2025-06-01", "until": "2025-06-01"}, "until"),
        ({"run": 987654321}, "run"),
        ({"run": "newest"}, "run"),
        ({"budget": -1}, "budget"),
        ({"budget": "100"}, "budget"),
        ({"unit_costs": {"pothole": 5}}, "unit_costs.pothole"),
        ({"unit_costs": {"flooding": -5}}, "unit_costs.flooding"),
        ({"formats": ["docx"]}, "formats"),
        ({"formats": []}, "formats"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_requests_are_422_naming_the_field(client, api_keys, city, engine, change, field):
    before = count(engine)
    data = {k: v for k, v in {**body(city), **change}.items() if v is not None}
    resp = client.post(URL, json=data, headers=api_keys.headers("grant_writer"))
    assert resp.status_code == 422, resp.get_json()
    problem = resp.get_json()
    assert resp.mimetype == "application/problem+json"
    assert problem["errors"][0]["field"].startswith(field), problem
    assert count(engine) == before


def test_not_json_is_400(client, api_keys):
    resp = client.post(URL, data="{", headers=api_keys.headers("planner"),
                       content_type="application/json")
    assert resp.status_code == 400


def test_a_run_that_has_not_finished_is_409(client, api_keys, city, engine):
    with engine.begin() as conn:
        queued = create_run(conn, RunParams(services=prairie.SERVICES))
        conn.execute(text("DELETE FROM outbox WHERE job_id = :j"), {"j": f"hotspot-run:{queued}"})
    resp = client.post(URL, json=body(city, run=queued), headers=api_keys.headers("planner"))
    assert resp.status_code == 409
    assert "queued" in resp.get_json()["detail"]
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM hotspot_runs WHERE id = :r"), {"r": queued})


def test_latest_without_any_succeeded_run_is_409(city, engine):
    with engine.connect() as conn, conn.begin() as tx:
        conn.execute(text("UPDATE hotspot_runs SET status = 'failed'"))
        with pytest.raises(FieldError) as caught:
            resolve(conn, {"area": {"boundary_id": city.city_id}})
        tx.rollback()
    assert caught.value.status == 409 and caught.value.field == "run"
    assert "no hotspot run has succeeded" in caught.value.message


def test_latest_resolves_to_a_run_id_and_defaults_come_from_it(client, api_keys, city, engine):
    city_wide = prairie.copy_run(engine, city)
    # An ad-hoc run finishing later is not "latest": it is not the city-wide layer.
    prairie.copy_run(engine, city, RunParams(services=("lead_paint",)))
    resp = client.post(URL, json={"area": {"boundary_id": city.city_id}},
                       headers=api_keys.headers("grant_writer"))
    params = resp.get_json()["params"]
    assert resp.status_code == 202
    assert params["run_id"] == city_wide  # stored as an id: re-renders stay the same
    assert (params["since"], params["until"]) == ("2025-01-01", "2026-01-01")
    with engine.connect() as conn:
        every = conn.execute(text("SELECT code FROM services ORDER BY code")).scalars().all()
    assert params["services"] == every  # the standing run analyses every service
    assert params["formats"] == ["csv", "geojson", "gpkg", "pdf"]


def test_idempotency_key_replays_the_first_answer(client, api_keys, city, engine):
    headers = api_keys.headers("grant_writer", **{"Idempotency-Key": "export-once-1"})
    first = client.post(URL, json=body(city), headers=headers)
    before = count(engine)
    again = client.post(URL, json=body(city), headers=headers)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(engine) == before


def test_request_render_through_rq_and_download(client, api_keys, city, engine, rq_redis,
                                                job_context):
    resp = client.post(URL, json=body(city, budget=250_000, unit_costs={"flooding": 700}),
                       headers=api_keys.headers("grant_writer"))
    assert resp.status_code == 202
    status = resp.get_json()
    assert resp.headers["Location"] == f"{URL}/{status['id']}"
    assert (status["status"], status["progress"], status["started_at"]) == ("queued", 0, None)
    assert "download_url" not in status
    assert status["params"]["unit_costs"] == {"flooding": 700.0}

    assert relay_once(engine, rq_redis) == 1
    Worker([Queue("exports", connection=rq_redis)], connection=rq_redis).work(burst=True)

    # A planner may read a grant writer's export: exports are city-internal.
    done = client.get(resp.headers["Location"], headers=api_keys.headers("planner")).get_json()
    assert (done["status"], done["progress"]) == ("succeeded", 100), done
    assert done["started_at"] and done["finished_at"] and "error" not in done
    assert {f["name"] for f in done["files"]} >= {"evidence.pdf", "data/hotspot_cells.gpkg"}
    job_ids = Queue("exports", connection=rq_redis).finished_job_registry.get_job_ids()
    assert len(job_ids) == 1

    download = client.get(done["download_url"])  # no API key
    assert download.status_code == 200 and download.mimetype == "application/zip"
    assert "no-store" in download.headers["Cache-Control"]
    with zipfile.ZipFile(io.BytesIO(download.data)) as zf:
        assert sorted(zf.namelist()) == sorted(f["name"] for f in done["files"])
        assert zf.read("evidence.pdf").startswith(b"%PDF")

    # A second delivery of the same job leaves the finished export alone.
    assert render_export(done["id"]) == {"export_id": done["id"], "status": "succeeded"}


def _link(export_id, expires, signature):
    return f"{URL}/{export_id}/download?expires={expires}&signature={signature}"


def test_expired_and_altered_links_are_403(client, api_keys, city, engine, job_context):
    with engine.begin() as conn:
        params = resolve(conn, body(city, formats=["csv"]))
        export_id = exports.create(conn, params, requested_by=None, enqueue=False)
    render_export(export_id)
    good_expires, good_sig = links.sign(SECRET, export_id)
    assert client.get(_link(export_id, good_expires, good_sig)).status_code == 200

    old_expires, old_sig = links.sign(SECRET, export_id, now=time.time() - 2 * 86400)
    expired = client.get(_link(export_id, old_expires, old_sig))
    assert expired.status_code == 403 and "expired" in expired.get_json()["detail"]
    flipped = good_sig[:-1] + ("0" if good_sig[-1] != "0" else "1")
    other_key = links.signature("not-the-server-key", export_id, good_expires)
    for url in (
        _link(export_id, good_expires, flipped),            # forged signature
        _link(export_id, good_expires + 3600, good_sig),    # longer life, same signature
        _link(export_id + 1, good_expires, good_sig),       # another export, same signature
        _link(export_id, good_expires, other_key),          # signed with another key
        f"{URL}/{export_id}/download",                      # unsigned
        _link(export_id, "soon", good_sig),                 # malformed expiry
    ):
        assert client.get(url).status_code == 403, url


def test_a_failed_render_is_recorded_with_its_reason(client, api_keys, city, engine,
                                                     job_context):
    with engine.begin() as conn:
        doomed = conn.execute(text(
            "INSERT INTO boundaries (kind, name, geom) SELECT 'district', 'Doomed', geom "
            "FROM boundaries WHERE id = :c RETURNING id"), {"c": city.city_id}).scalar_one()
    resp = client.post(URL, json={"area": {"boundary_id": doomed}, "run": city.run_id},
                       headers=api_keys.headers("admin"))
    export_id = resp.get_json()["id"]
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM boundaries WHERE id = :b"), {"b": doomed})
    with pytest.raises(LookupError):
        render_export(export_id)
    status = client.get(resp.headers["Location"], headers=api_keys.headers("admin")).get_json()
    assert status["status"] == "failed" and "area no longer exists" in status["error"]
    assert "download_url" not in status


def test_the_download_link_from_the_status_is_signed_for_24_hours(client, api_keys, city, engine,
                                                                  job_context):
    with engine.begin() as conn:
        export_id = exports.create(conn, resolve(conn, body(city, formats=["geojson"])),
                                   requested_by=None, enqueue=False)
    render_export(export_id)
    status = client.get(f"{URL}/{export_id}", headers=api_keys.headers("grant_writer")).get_json()
    query = parse_qs(urlsplit(status["download_url"]).query)
    expires = int(query["expires"][0])
    assert abs(expires - (time.time() + links.DEFAULT_TTL_SECONDS)) < 60
    assert links.verify(SECRET, export_id, str(expires), query["signature"][0]) is None


def test_openapi_documents_the_export_routes(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    post = paths["/api/v1/exports"]["post"]
    assert "grant_writer" in post["description"] and post["security"]
    assert {p["name"] for p in post["parameters"]} == {"Idempotency-Key"}
    assert "get" in paths["/api/v1/exports/{export_id}"]
    download = paths["/api/v1/exports/{export_id}/download"]["get"]
    assert "security" not in download
    assert {p["name"] for p in download["parameters"]} >= {"expires", "signature"}


@pytest.fixture
def cli_env(settings):
    return {"CIVICPULSE_ENV": "test", "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url, "CIVICPULSE_SECRET_KEY": settings.secret_key,
            "CIVICPULSE_EXPORT_DIR": settings.export_dir,
            "CIVICPULSE_UNIT_COSTS": '{"flooding": 650}'}


def test_cli_renders_the_same_export_and_prints_the_zip(city, engine, cli_env):
    from click.testing import CliRunner

    from service.cli import main

    result = CliRunner().invoke(main, [
        "export", "--area", f"boundary:{city.city_id}", "--run", str(city.run_id),
        "--services", "flooding", "--since", "2025-03-01", "--until", "2025-09-01",
        "--budget", "90000", "--format", "pdf", "--format", "csv", "--wait"], env=cli_env)
    assert result.exit_code == 0, result.output
    zip_path = result.output.strip().splitlines()[-1]
    with zipfile.ZipFile(zip_path) as zf:
        months = zf.read("data/monthly_counts.csv").decode().splitlines()
        assert len(months) == 1 + 6 and "data/hotspot_cells.gpkg" not in zf.namelist()
    with engine.connect() as conn:
        params, pending = conn.execute(text(
            "SELECT e.params, (SELECT count(*) FROM outbox o WHERE o.job_id = "
            "'evidence-export:' || e.id) FROM evidence_exports e ORDER BY e.id DESC LIMIT 1")).one()
    assert params["unit_costs"] == {"flooding": 650.0}  # the server default, from the env
    assert pending == 0  # rendered here: no job for a worker to repeat


def test_cli_refuses_bad_input_with_the_field(city, cli_env):
    from click.testing import CliRunner

    from service.cli import main

    result = CliRunner().invoke(main, ["export", "--area", str(city.city_id), "--service", "nope"],
                                env=cli_env)
    assert result.exit_code == 1 and "services: unknown service code 'nope'" in result.output
    queued = CliRunner().invoke(main, ["export", "--area", str(city.city_id), "--run",
                                       str(city.run_id)], env=cli_env)
    assert queued.exit_code == 0 and "queued evidence export" in queued.output


def test_the_list_shows_packs_newest_first_with_their_parameters(client, api_keys, city):
    made = [client.post(URL, json=body(city, budget=b), headers=api_keys.headers("grant_writer"))
            .get_json()["id"] for b in (1000, 2000)]
    listed = client.get(f"{URL}?page_size=2", headers=api_keys.headers("planner"))
    assert listed.status_code == 200 and "no-store" in listed.headers["Cache-Control"]
    page = listed.get_json()
    assert [e["id"] for e in page["exports"]] == made[::-1]
    assert page["exports"][0]["params"]["budget"] == 2000 and page["total"] >= 2
    assert client.get(f"{URL}?page_size=0", headers=api_keys.headers("planner")).status_code == 400
