"""The planners' map page in a real browser: Debian's Chromium renders a run's hexagons.

A live server runs the app on the test database; Playwright drives headless
Chromium with software WebGL. Every test fails on any console error, uncaught
page error or request to another origin (the page must work with no internet).
Scripts handed to Playwright are functions ("() => …"), never bare expressions:
the page's CSP forbids eval, which is how Playwright runs an expression string.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import h3
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import text

from geo.hotspots.runs import latest_run_id
from tests.browser import ARTIFACTS, TIMEOUT_MS, needs_chromium
from tests.cities import PLACES, map_page, standing
from tests.cities.map_page import MapPageCity as PlannerCity
from tests.cities.map_page import publish_like_run_a

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def city(engine: Any, app: Any) -> Iterator[PlannerCity]:
    """Two finished runs and three boundaries, removed after the module."""
    with standing(engine, map_page.build_city(engine, PLACES["map-page"])) as made:
        yield made


@pytest.fixture
def open_page(browser: Browser, live_url: str, api_keys: Any) -> Iterator[Any]:
    """Open tabs whose session already holds a role's key (or none); fail on any error."""
    errors: list[str] = []
    outside: list[str] = []
    contexts = []

    def block(route: Any) -> None:
        outside.append(route.request.url)
        route.abort()

    def on_console(message: Any) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text}")

    def opener(role: str | None) -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(context)
        if role is not None:
            origin, key = json.dumps(live_url), json.dumps(api_keys[role])
            context.add_init_script(
                f"if (location.origin === {origin}) "
                f"sessionStorage.setItem('civicpulse.apiKey', {key});"
            )
        context.route(lambda url: not url.startswith(live_url), block)
        tab = context.new_page()
        tab.set_default_timeout(TIMEOUT_MS)
        tab.on("console", on_console)
        tab.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        return tab

    yield opener
    for context in contexts:
        context.close()
    assert not errors, "\n".join(errors)
    assert not outside, f"requests to other origins: {outside}"


@pytest.fixture
def page(open_page: Any) -> Page:
    """A tab signed in with the planner's key."""
    return open_page("planner")


def _rendered(page: Page, layer: str) -> int:
    """How many features of ``layer`` the map draws now."""
    return page.evaluate(
        "(layer) => window.civicMap.queryRenderedFeatures({layers: [layer]}).length", layer
    )


def _wait_for_layer(page: Page, *layers: str) -> None:
    """Wait until the map draws some feature of any of ``layers``."""
    page.wait_for_function(
        """(layers) => {
            const map = window.civicMap;
            const present = map ? layers.filter((id) => map.getLayer(id)) : [];
            return present.length > 0 && map.loaded()
                && map.queryRenderedFeatures({layers: present}).length > 0;
        }""",
        arg=list(layers),
    )


def _click_cell(page: Page, cell: str) -> None:
    """Click the middle of an H3 cell on the map."""
    lat, lng = h3.cell_to_latlng(cell)
    x, y = page.evaluate(
        """([lng, lat]) => {
            const p = window.civicMap.project([lng, lat]);
            const r = window.civicMap.getCanvas().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }""",
        [lng, lat],
    )
    page.mouse.click(x, y)


def test_map_renders_the_run_and_a_click_shows_the_cell(page: Page, live_url: str,
                                                         city: PlannerCity) -> None:
    page.goto(f"{live_url}/planner/?run={city.run_a}")
    _wait_for_layer(page, "hotspot-cells")
    page.wait_for_function("(run) => document.body.dataset.shownRun === run", arg=str(city.run_a))

    # Hot, cold and no-data cells are all drawn, no-data in its own (hatched) layer.
    drawn = page.evaluate(
        """() => window.civicMap.queryRenderedFeatures({layers: ['hotspot-cells']})
                 .map(f => f.properties.gi_bin)"""
    )
    assert 3 in drawn and -3 in drawn and 0 in drawn
    _wait_for_layer(page, "hotspot-nodata")
    assert _rendered(page, "hotspot-areas") > 0
    _wait_for_layer(page, "boundaries-line")
    # Reports come as vector tiles: counts per cell, or points from zoom 14.
    _wait_for_layer(page, "reports-points", "reports-cells")

    _click_cell(page, city.hot_cell)
    details = page.locator("#details")
    # A sentence first; the raw fields are one click away ("All fields").
    details.locator('[data-plain="cell"]').wait_for()
    for summary in details.locator("details.raw > summary").all():
        summary.click()
    details.locator('[data-field="h3"]').wait_for()
    assert details.locator('[data-field="h3"]').inner_text() == city.hot_cell
    assert details.locator('[data-field="gi_bin"]').inner_text() == "3"
    assert details.locator('[data-field="priority_rank"]').inner_text() == "1"
    assert "significance" in details.locator('[data-field="components"]').inner_text()
    assert details.locator('[data-field="area.area_id"]').inner_text() == "1"
    assert "hot spot, 99 %" in details.inner_text().lower()

    # The run list came from the API: both runs, finished, the shown one selected.
    row = page.locator(f'#runs tr[data-run-id="{city.run_a}"]')
    assert "succeeded" in row.inner_text()
    assert row.locator('input[name="run-a"]').is_checked()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "planner.png"))

    _click_cell(page, city.no_data_cells[0])
    page.wait_for_function(
        "(h3) => document.querySelector('#details [data-field=\"h3\"]').textContent === h3",
        arg=city.no_data_cells[0],
    )
    assert "no data" in details.inner_text().lower()


def test_compare_two_runs_colours_the_changed_cells(page: Page, live_url: str,
                                                    city: PlannerCity) -> None:
    page.goto(f"{live_url}/planner/?run={city.run_a}")
    _wait_for_layer(page, "hotspot-cells")
    assert city.hotter() and city.cooler()
    page.locator(f'#runs input[name="run-b"][value="{city.run_b}"]').check()
    summary = page.locator("#compare-summary")
    page.wait_for_function("() => document.getElementById('compare-summary').textContent !== ''")
    assert f"{city.hotter()} cells hotter" in summary.inner_text()
    assert f"{city.cooler()} cooler" in summary.inner_text()
    _wait_for_layer(page, "compare-cells")
    changes = page.evaluate(
        """() => Array.from(new Set(window.civicMap
                 .queryRenderedFeatures({layers: ['compare-cells']})
                 .map(f => f.properties.change)))"""
    )
    assert _rendered(page, "hotspot-cells") == 0  # the single-run layer gives way
    assert page.evaluate("() => new URLSearchParams(location.search).get('compare')") == str(
        city.run_b
    )
    warmed = next(c for c in city.bins_a if city.bins_b[c] > city.bins_a[c])
    _click_cell(page, warmed)
    page.locator("#details table.compare").wait_for()
    assert page.locator('#details [data-field="h3"]').inner_text() == warmed
    assert "hotter" in (page.locator("#details h2").text_content() or "")
    assert {"hotter", "cooler", "same"} <= set(changes)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "planner-compare.png"))


def test_run_now_posts_the_filters_and_the_list_follows_progress(
    page: Page, live_url: str, city: PlannerCity, engine: Any
) -> None:
    page.goto(f"{live_url}/planner/?run={city.run_a}")
    _wait_for_layer(page, "hotspot-cells")
    page.locator("#service").select_option("pothole")
    page.locator("#since").fill("2025-01-01")
    page.locator("#until").fill("2025-07-01")
    with page.expect_response(
        lambda r: r.url.endswith("/api/v1/hotspot-runs") and r.request.method == "POST"
    ) as answer:
        page.locator("#run-now").click()
    resp = answer.value
    assert resp.status == 202
    assert resp.request.headers.get("idempotency-key")
    assert json.loads(resp.request.post_data or "{}") == {
        "services": ["pothole"], "since": "2025-01-01", "until": "2025-07-01",
    }
    run_id = resp.json()["id"]
    try:
        row = page.locator(f'#runs tr[data-run-id="{run_id}"]')
        row.wait_for()
        assert "queued" in row.inner_text()
        assert "pothole" in row.inner_text()
        # A worker picks it up: the page's polling shows the status and progress.
        with engine.begin() as conn:
            conn.execute(text("UPDATE hotspot_runs SET status = 'running', progress = 40, "
                              "started_at = now() WHERE id = :id"), {"id": run_id})
        row.locator(".status-running").wait_for()
        assert row.locator("progress").get_attribute("value") == "40"
        # When it has succeeded, the page shows the run it started.
        publish_like_run_a(engine, run_id, city)
        page.wait_for_function("(run) => document.body.dataset.shownRun === run",
                               arg=str(run_id))
        assert row.locator('input[name="run-a"]').is_checked()
        _wait_for_layer(page, "hotspot-cells")
        # "Only runs with these filters" hides the runs made without them.
        page.locator("#only-matching").check()
        page.locator(f'#runs tr[data-run-id="{city.run_a}"]').wait_for(state="detached")
        assert row.is_visible()
        assert "succeeded" in row.inner_text()
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM outbox WHERE job_id = :j"),
                         {"j": f"hotspot-run:{run_id}"})
            conn.execute(text("DELETE FROM hotspot_runs WHERE id = :id"), {"id": run_id})


def test_large_runs_are_drawn_from_vector_tiles(page: Page, live_url: str,
                                                city: PlannerCity) -> None:
    # ?cells=tiles takes the path a run of more than 10,000 cells takes by itself.
    page.goto(f"{live_url}/planner/?run={city.run_a}&cells=tiles")
    _wait_for_layer(page, "hotspot-cells")
    assert page.evaluate("() => document.body.dataset.cellsFrom") == "tiles"
    tiles = page.evaluate(
        "() => window.civicMap.getStyle().sources.cells.tiles[0]"
    )
    assert f"/tiles/hotspots/{{z}}/{{x}}/{{y}}.mvt?run={city.run_a}" in tiles
    _wait_for_layer(page, "hotspot-nodata")
    _click_cell(page, city.cold_cell)
    details = page.locator("#details")
    # A sentence first; the raw fields are one click away ("All fields").
    details.locator('[data-plain="cell"]').wait_for()
    for summary in details.locator("details.raw > summary").all():
        summary.click()
    details.locator('[data-field="h3"]').wait_for()
    assert details.locator('[data-field="h3"]').inner_text() == city.cold_cell
    assert details.locator('[data-field="gi_bin"]').inner_text() == "-3"
    assert "cold spot, 99 %" in details.inner_text().lower()


def test_a_key_typed_in_signs_in_and_a_grant_writer_cannot_run(
    open_page: Any, live_url: str, city: PlannerCity, api_keys: Any, engine: Any
) -> None:
    tab = open_page(None)
    tab.goto(f"{live_url}/planner/")
    expect(tab.locator("#map-msg")).to_contain_text("Sign in to load the runs")
    tab.locator("#key-details summary").click()
    tab.locator("#api-key").fill(api_keys["grant_writer"])
    tab.locator("#key-form button[type=submit]").click()
    tab.locator("#signed-in").wait_for()
    assert "grant_writer" in tab.locator("#who-role").inner_text()
    assert tab.locator("#run-now").is_hidden()
    _wait_for_layer(tab, "hotspot-cells")
    # With no run named, the page shows what "latest" means everywhere.
    with engine.connect() as conn:
        latest = latest_run_id(conn)
    assert tab.evaluate("() => document.body.dataset.shownRun") == str(latest)
    # The key lives in this tab's session only, and never in the page's address.
    assert tab.evaluate("() => sessionStorage.getItem('civicpulse.apiKey')") == api_keys[
        "grant_writer"
    ]
    assert api_keys["grant_writer"] not in tab.url


def test_interventions_are_drawn_and_a_click_says_whether_it_worked(
        page: Page, live_url: str, city: PlannerCity, engine: Any) -> None:
    from geo.evaluation import evaluate, interventions

    lat, lng = h3.cell_to_latlng(city.cold_cell)
    with engine.begin() as conn:
        iid = interventions.create(conn, {
            "name": "Map drain clearing", "programme": "Stormwater", "services": ["flooding"],
            "geometry": {"type": "Point", "coordinates": [lng, lat]}, "radius_m": 120,
            "start_date": "2025-03-01", "end_date": "2025-03-31", "cost": 5000})
    try:
        assert evaluate.run(engine, iid, 1) == "succeeded"
        page.goto(f"{live_url}/planner/?run={city.run_a}")
        _wait_for_layer(page, "hotspot-cells")
        _wait_for_layer(page, "interventions-fill")
        _click_cell(page, city.cold_cell)
        details = page.locator("#details")
        details.locator('[data-field="evaluation.status"]').wait_for()
        assert details.locator('[data-field="name"]').inner_text() == "Map drain clearing"
        assert details.locator('[data-field="cost"]').inner_text() == "5000"
        assert details.locator('[data-field="evaluation.status"]').inner_text() == "succeeded"
        assert "Did it work?" in details.inner_text()
        assert "not the hazard" in details.inner_text()  # the caveats are listed
    finally:
        with engine.begin() as conn:
            interventions.delete(conn, iid)
