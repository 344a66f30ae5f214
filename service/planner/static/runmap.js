// The map: one run's cells (GeoJSON or tiles), a comparison, districts, reports and clicks.

import { authHeaders, isOwnUrl, requestJSON } from "./api.js";
import { compareRuns, describeComparison } from "./compare.js";
import {
  clearDetails, showBoundary, showCell, showComparedCell, showIntervention,
} from "./details.js";
import {
  CLICKABLE, addLayers, addReportsLayer, applyLayerToggles, baseStyle, bboxOf, filterReports,
  selectCell, setRunSource,
} from "./layers.js";
import { filterParams } from "./runs.js";

// Up to this many cells a run comes as one GeoJSON document (every field, and
// comparable in the browser); a larger run is drawn from vector tiles.
export const GEOJSON_MAX_CELLS = 10000;
const EMPTY = { type: "FeatureCollection", features: [] };
const TILES = Boolean(document.body.dataset.tiles);
const $ = (id) => document.getElementById(id);

/** Show (or clear) the message over the map. */
export function mapMessage(text) {
  $("map-msg").textContent = text || "";
  $("map-msg").hidden = !text;
}

/** Build the map in #map; ``state`` is the page's (runs, runA, runB, …), read and updated here. */
export function createRunMap(maplibregl, state) {
  let reportsTemplate = null; // the reports TileJSON tile URL, once loaded

  const map = new maplibregl.Map({
    container: "map",
    style: document.body.dataset.basemap || baseStyle(),
    center: [0, 20],
    zoom: 1.5,
    attributionControl: { compact: true },
    // Tiles and GeoJSON that MapLibre fetches itself carry the key; other origins never do.
    transformRequest: (url) => (isOwnUrl(url) ? { url, headers: authHeaders() } : { url }),
  });
  window.civicMap = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-right");
  const mapLoaded = new Promise((resolve) => {
    map.on("load", () => {
      addLayers(map);
      resolve();
    });
  });

  /** A run's cells or areas as GeoJSON, fetched once (a finished run never changes). */
  function runGeoJSON(kind, runId) {
    const key = `${kind}:${runId}`;
    if (!state.geojson.has(key)) {
      const promise = requestJSON(`/api/v1/hotspot-runs/${runId}/${kind}`);
      promise.catch(() => state.geojson.delete(key));
      state.geojson.set(key, promise);
    }
    return state.geojson.get(key);
  }

  /** How many cells a run analysed (from the run list). */
  function cellCount(runId) {
    const run = state.runs.find((r) => r.id === runId);
    return run && run.counts ? run.counts.cells || 0 : 0;
  }

  /**
   * Fit the view once to the first run shown: later runs keep the planner's pan and
   * zoom. Boundaries may fit the view while no run is shown, but the first run still
   * takes over (they can arrive first, and may cover more than the city, e.g. a
   * neighbouring one).
   */
  function fitOnce(box, kind = "run") {
    if (!box || state.fitted === "run" || (state.fitted && kind !== "run")) return;
    map.fitBounds(box, { padding: 30, duration: 0, maxZoom: 15 });
    state.fitted = kind;
  }

  /** Keep the shown and compared runs in the address, so a view can be shared. */
  function rememberInUrl() {
    const params = new URLSearchParams();
    if (state.runA) params.set("run", state.runA);
    if (state.runB) params.set("compare", state.runB);
    if (state.cellsFrom) params.set("cells", state.cellsFrom);
    const search = params.toString();
    const url = search ? `${window.location.pathname}?${search}` : window.location.pathname;
    window.history.replaceState(null, "", url);
  }

  /** Draw run ``runId``: as GeoJSON when small enough, else from vector tiles. */
  async function showRun(runId) {
    state.runA = runId;
    rememberInUrl();
    mapMessage(`Loading run #${runId}…`);
    const tiles = TILES && (state.cellsFrom === "tiles"
      || (state.cellsFrom !== "geojson" && cellCount(runId) > GEOJSON_MAX_CELLS));
    try {
      let source;
      let box;
      if (tiles) {
        const tilejson = await requestJSON(`/tiles/hotspots.json?run=${runId}`);
        source = {
          cells: { type: "vector", tiles: tilejson.tiles, bounds: tilejson.bounds,
            minzoom: tilejson.minzoom, maxzoom: tilejson.maxzoom },
          cellsLayer: "hotspots", areasLayer: "hotspot_areas",
        };
        const [w, s, e, n] = tilejson.bounds;
        box = [[w, s], [e, n]];
      } else {
        const [cells, areas] = await Promise.all([runGeoJSON("cells", runId),
          runGeoJSON("areas", runId)]);
        source = { cells: { type: "geojson", data: cells }, areas: { type: "geojson", data: areas } };
        box = bboxOf(cells);
      }
      await mapLoaded;
      if (state.runA !== runId) return; // another run was chosen meanwhile
      setRunSource(map, source);
      state.shown = { runId, tiles };
      map.getSource("selection").setData(EMPTY);
      clearDetails($("details"));
      fitOnce(box);
      document.body.dataset.shownRun = String(runId);
      document.body.dataset.cellsFrom = tiles ? "tiles" : "geojson";
      mapMessage(cellCount(runId) || tiles ? "" : `Run #${runId} has no cells.`);
      await showComparison();
    } catch (err) {
      mapMessage(`Run #${runId} could not be loaded: ${err.message}`);
    }
  }

  /** Compare the shown run with run B, or leave comparison mode. */
  async function showComparison() {
    const { runA, runB } = state;
    let comparing = Boolean(runA && runB && runA !== runB);
    await mapLoaded;
    $("compare-summary").textContent = "";
    const largest = Math.max(cellCount(runA), cellCount(runB));
    if (comparing && largest > GEOJSON_MAX_CELLS) {
      $("compare-summary").textContent = `Runs of more than ${GEOJSON_MAX_CELLS} cells are too `
        + "large to compare in the browser; compare their OGC collections in QGIS.";
      comparing = false;
    }
    if (comparing) {
      const [a, b] = await Promise.all([runGeoJSON("cells", runA), runGeoJSON("cells", runB)]);
      if (state.runA !== runA || state.runB !== runB) return;
      const { collection, counts } = compareRuns(a, b);
      state.comparison = { runA, runB, collection };
      map.getSource("compare").setData(collection);
      $("compare-summary").textContent = describeComparison(runA, runB, counts);
    } else {
      state.comparison = null;
    }
    $("legend-compare").hidden = !comparing;
    applyLayerToggles(map, comparing);
  }

  /** The full record of a clicked run cell, and its priority area's. */
  async function cellDetails(runId, tiles, hit) {
    // Tiles carry every field but the nested components; the areas document is small.
    const areas = await runGeoJSON("areas", runId);
    let props = hit.properties;
    if (!tiles) {
      const cells = await runGeoJSON("cells", runId);
      props = (cells.features.find((f) => f.properties.h3 === props.h3) || hit).properties;
    }
    const areaId = props.area_id;
    const area = areaId == null ? null
      : (areas.features.find((f) => f.properties.area_id === areaId) || {}).properties || null;
    return { props, area };
  }

  /** Show what the clicked point holds: a compared cell, a run cell (and its area), or a district. */
  async function onMapClick(event) {
    const layers = CLICKABLE.filter((id) => map.getLayer(id)
      && map.getLayoutProperty(id, "visibility") !== "none");
    const hit = map.queryRenderedFeatures(event.point, { layers })[0];
    const panel = $("details");
    map.getSource("selection").setData(EMPTY);
    selectCell(map, null);
    if (!hit) {
      clearDetails(panel);
    } else if (hit.layer.id === "compare-cells" && state.comparison) {
      const { runA, runB, collection } = state.comparison;
      const feature = collection.features.find((f) => f.properties.h3 === hit.properties.h3);
      showComparedCell(panel, runA, runB, feature.properties);
      map.getSource("selection").setData(feature);
    } else if (hit.layer.id === "interventions-fill") {
      map.getSource("selection").setData({ type: "Feature", geometry: hit.geometry, properties: {} });
      let evaluation = null;
      try {
        evaluation = await requestJSON(`/api/v1/interventions/${hit.properties.id}/evaluation`);
      } catch (err) {
        mapMessage(`Evaluation not loaded: ${err.message}`);
      }
      showIntervention(panel, hit.properties, evaluation);
    } else if (hit.layer.id === "boundaries-fill") {
      showBoundary(panel, hit.properties);
      map.getSource("selection").setData({ type: "Feature", geometry: hit.geometry, properties: {} });
    } else if (state.shown) {
      const { runId, tiles } = state.shown;
      selectCell(map, hit.properties.h3);
      try {
        const { props, area } = await cellDetails(runId, tiles, hit);
        showCell(panel, runId, props, area);
      } catch (err) {
        mapMessage(`Cell details not loaded: ${err.message}`);
      }
    }
  }

  /** Districts and the city outline from OGC API Features (few polygons: one page). */
  async function loadBoundaries() {
    if (!document.body.dataset.ogcBoundaries) return;
    try {
      const boundaries = await requestJSON("/ogc/collections/boundaries/items?limit=10000");
      await mapLoaded;
      map.getSource("boundaries").setData(boundaries);
      // Before any run is drawn, the city's own extent is the best view.
      if (!state.runA) fitOnce(bboxOf(boundaries), "boundaries");
    } catch (err) {
      $("layers-msg").textContent = `Districts not loaded: ${err.message}`;
    }
  }

  /** What the city did, from OGC API Features (staff see cost; few footprints: one page). */
  async function loadInterventions() {
    try {
      const found = await requestJSON("/ogc/collections/interventions/items?limit=10000");
      await mapLoaded;
      map.getSource("interventions").setData(found);
    } catch (err) {
      $("layers-msg").textContent = `Interventions not loaded: ${err.message}`;
    }
  }

  /** The reports layer from vector tiles, when this server serves them. */
  async function loadReportsLayer() {
    const box = document.querySelector('input[data-layer="reports"]');
    const off = (why) => {
      box.disabled = true;
      box.checked = false;
      $("layers-msg").textContent = why;
    };
    if (!TILES) {
      off("This server has no report tiles; the reports layer is off.");
      return;
    }
    try {
      const tilejson = await requestJSON("/tiles/reports.json");
      await mapLoaded;
      addReportsLayer(map, tilejson);
      reportsTemplate = tilejson.tiles[0];
      filterReports(map, reportsTemplate, filterParams());
      applyLayerToggles(map, Boolean(state.comparison));
    } catch (err) {
      off(`Reports layer not available: ${err.message}`);
    }
  }

  map.on("click", onMapClick);
  map.on("mousemove", (event) => {
    const layers = CLICKABLE.filter((id) => map.getLayer(id));
    map.getCanvas().style.cursor = map.queryRenderedFeatures(event.point, { layers }).length
      ? "pointer" : "";
  });

  return {
    map,
    loaded: mapLoaded,
    showRun,
    showComparison,
    rememberInUrl,
    loadBoundaries,
    loadInterventions,
    loadReportsLayer,
    /** Point the reports layer at the filters' service and period. */
    refilterReports: () => {
      if (reportsTemplate) filterReports(map, reportsTemplate, filterParams());
    },
  };
}
