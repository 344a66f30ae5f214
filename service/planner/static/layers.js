// The map's style and layers: the city's basemap if any, districts as context, cells by gi_bin.

/** Diverging scale of gi_bin: -3 dark blue … 0 light grey … 3 dark red (ColorBrewer RdBu). */
export const BIN_COLORS = {
  "-3": "#2166ac", "-2": "#67a9cf", "-1": "#d1e5f0", "0": "#f4f4f4",
  "1": "#fddbc7", "2": "#ef8a62", "3": "#b2182b",
};
const BACKGROUND = "#e2e0da";
const NO_DATA_LINE = "#6f6f6f";
const SELECTED = "#ffc400"; // apart from the scale, the areas' outline and the districts
const EMPTY = { type: "FeatureCollection", features: [] };
const NONE = ["==", ["get", "h3"], ""];

/** Layers a click can select, topmost first. */
export const CLICKABLE = ["interventions-fill", "compare-cells", "hotspot-cells", "hotspot-nodata",
  "boundaries-fill"];

/** Map checkbox names (data-layer in the page) to the layers they switch. */
export const LAYER_GROUPS = {
  cells: ["hotspot-cells", "hotspot-nodata", "hotspot-cell-lines", "hotspot-nodata-lines",
    "selected-cell"],
  areas: ["hotspot-areas"],
  boundaries: ["boundaries-fill", "boundaries-line", "boundaries-city"],
  reports: ["reports-cells", "reports-points"],
  interventions: ["interventions-fill", "interventions-line"],
};
const INTERVENTION = "#6a3d9a";
const RUN_LAYERS = [...LAYER_GROUPS.cells, ...LAYER_GROUPS.areas];

/** A style with a plain background and nothing to download: no tiles, glyphs or sprite. */
export function baseStyle() {
  return {
    version: 8,
    sources: {},
    layers: [{ id: "background", type: "background", paint: { "background-color": BACKGROUND } }],
  };
}

/** A diagonal hatch drawn in memory (no sprite to fetch) for cells with no data. */
function hatchImage(size = 8) {
  const data = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y += 1) {
    for (let x = 0; x < size; x += 1) {
      const onLine = (x + y) % size === 0 || (x + y) % size === size - 1;
      data.set(onLine ? [110, 110, 110, 200] : [255, 255, 255, 60], (y * size + x) * 4);
    }
  }
  return { width: size, height: size, data };
}

const binColor = ["match", ["to-string", ["get", "gi_bin"]],
  ...Object.entries(BIN_COLORS).flat(), BIN_COLORS["0"]];
const noData = ["==", ["get", "no_data"], true];

/** Add the sources and layers that do not depend on the run: districts, comparison, selection. */
export function addLayers(map) {
  map.addImage("hatch", hatchImage(), { pixelRatio: 1 });

  // Districts (and the city outline) are context, over the basemap when one is configured.
  map.addSource("boundaries", { type: "geojson", data: EMPTY });
  map.addLayer({
    id: "boundaries-fill", type: "fill", source: "boundaries",
    filter: ["==", ["get", "kind"], "district"],
    paint: { "fill-color": "#ffffff", "fill-opacity": 0.35 },
  });

  // Comparison of two runs: cells whose gi_bin changed are coloured, the rest faint.
  map.addSource("compare", { type: "geojson", data: EMPTY });
  map.addLayer({
    id: "compare-cells", type: "fill", source: "compare",
    layout: { visibility: "none" },
    paint: {
      "fill-color": ["match", ["get", "change"],
        "hotter", ["interpolate", ["linear"], ["get", "delta"], 1, "#fcae91", 3, "#de2d26", 6, "#67000d"],
        "cooler", ["interpolate", ["linear"], ["get", "delta"], -6, "#08306b", -3, "#3182bd", -1, "#9ecae1"],
        "same", "#f4f4f4",
        "#bdbdbd"],
      "fill-opacity": ["match", ["get", "change"], "same", 0.45, 0.9],
    },
  });
  map.addLayer({
    id: "compare-lines", type: "line", source: "compare",
    layout: { visibility: "none" },
    paint: {
      "line-color": ["match", ["get", "change"], "same", "#b5b5b5", "#333333"],
      "line-width": ["match", ["get", "change"], "same", 0.3, 1.2],
    },
  });

  map.addLayer({
    id: "boundaries-line", type: "line", source: "boundaries",
    filter: ["==", ["get", "kind"], "district"],
    paint: { "line-color": "#4d4d4d", "line-width": 1.3, "line-dasharray": [4, 2] },
  });
  map.addLayer({
    id: "boundaries-city", type: "line", source: "boundaries",
    filter: ["==", ["get", "kind"], "city"],
    paint: { "line-color": "#222222", "line-width": 2.5 },
  });

  // What the city did: footprints over the cells, outlined so the bins stay readable.
  map.addSource("interventions", { type: "geojson", data: EMPTY });
  map.addLayer({
    id: "interventions-fill", type: "fill", source: "interventions",
    paint: { "fill-color": INTERVENTION, "fill-opacity": 0.12 },
  });
  map.addLayer({
    id: "interventions-line", type: "line", source: "interventions",
    paint: { "line-color": INTERVENTION, "line-width": 2, "line-dasharray": [2, 1] },
  });

  // A clicked district or compared cell (a clicked run cell uses "selected-cell").
  map.addSource("selection", { type: "geojson", data: EMPTY });
  map.addLayer({
    id: "selection", type: "line", source: "selection",
    paint: { "line-color": SELECTED, "line-width": 4 },
  });
}

/** Draw a run's cells and areas from a GeoJSON or a vector tile source. */
export function setRunSource(map, { cells, cellsLayer, areas, areasLayer }) {
  // GeoJSON carries every field of every cell; vector tiles (cellsLayer and
  // areasLayer name their MVT layers) keep a run of any size light. ``areas`` is a
  // separate GeoJSON source spec, or absent when the areas come in the same tiles.
  for (const id of RUN_LAYERS) if (map.getLayer(id)) map.removeLayer(id);
  for (const id of ["cells", "areas"]) if (map.getSource(id)) map.removeSource(id);
  map.addSource("cells", cells);
  if (areas) map.addSource("areas", areas);
  const c = cellsLayer ? { source: "cells", "source-layer": cellsLayer } : { source: "cells" };
  const a = areas ? { source: "areas" } : { source: "cells", "source-layer": areasLayer };
  const below = "compare-cells"; // run layers stay under the comparison and the districts' lines
  map.addLayer({
    id: "hotspot-cells", type: "fill", ...c, filter: ["!", noData],
    paint: { "fill-color": binColor, "fill-opacity": 0.88 },
  }, below);
  map.addLayer({
    id: "hotspot-nodata", type: "fill", ...c, filter: noData,
    paint: { "fill-pattern": "hatch" },
  }, below);
  map.addLayer({
    id: "hotspot-cell-lines", type: "line", ...c, filter: ["!", noData],
    paint: {
      "line-color": "#9c9c9c",
      "line-width": ["interpolate", ["linear"], ["zoom"], 10, 0.2, 15, 1],
    },
  }, below);
  // A dashed outline keeps no-data cells readable as cells, apart from grey bin 0.
  map.addLayer({
    id: "hotspot-nodata-lines", type: "line", ...c, filter: noData,
    paint: { "line-color": NO_DATA_LINE, "line-width": 0.8, "line-dasharray": [2, 2] },
  }, below);
  map.addLayer({
    id: "hotspot-areas", type: "line", ...a,
    paint: { "line-color": "#3b0a12", "line-width": 2.5 },
  }, below);
  // Selected by h3, not by geometry: a tile's copy of a hexagon may be cut at the tile's edge.
  // On top of everything, reports included.
  map.addLayer({
    id: "selected-cell", type: "line", ...c, filter: NONE,
    paint: { "line-color": SELECTED, "line-width": 4 },
  });
}

/** Outline one run cell (or none, with null). */
export function selectCell(map, h3) {
  if (map.getLayer("selected-cell")) {
    map.setFilter("selected-cell", h3 ? ["==", ["get", "h3"], h3] : NONE);
  }
}

/** Add the reports vector tiles: counts per cell when zoomed out, points when zoomed in. */
export function addReportsLayer(map, tilejson) {
  const layers = tilejson.vector_layers || [];
  const pick = (pattern) => (layers.find((l) => pattern.test(l.id)) || {}).id;
  map.addSource("reports", {
    type: "vector",
    tiles: tilejson.tiles,
    minzoom: tilejson.minzoom ?? 0,
    maxzoom: tilejson.maxzoom ?? 22,
    ...(tilejson.bounds ? { bounds: tilejson.bounds } : {}),
  });
  const cellsLayer = pick(/cell/);
  const pointsLayer = pick(/point/) || (layers[0] || {}).id;
  if (cellsLayer) {
    // An inset ring, thicker with more reports: report cells can be the very hexagons
    // of the run, and an outline on their edge would vanish into the cells' own.
    map.addLayer({
      id: "reports-cells", type: "line", source: "reports", "source-layer": cellsLayer,
      paint: {
        "line-color": "#5b2a86",
        // Context, not the message: faint enough that the hot and cold cells read first.
        "line-opacity": 0.45,
        "line-offset": 3,
        "line-width": ["interpolate", ["linear"], ["sqrt", ["coalesce", ["get", "reports"], 1]],
          1, 1, 30, 3],
      },
    }, "selection");
  }
  if (pointsLayer) {
    map.addLayer({
      id: "reports-points", type: "circle", source: "reports", "source-layer": pointsLayer,
      filter: ["==", ["geometry-type"], "Point"],
      paint: {
        "circle-color": "#5b2a86",
        "circle-opacity": 0.8,
        "circle-radius": 3.5,
        "circle-stroke-color": "#ffffff",
        "circle-stroke-width": 0.8,
      },
    }, "selection");
  }
}

/** Point the reports tiles at the filters' service and period. */
export function filterReports(map, template, params) {
  const source = map.getSource("reports");
  if (!source) return;
  // String work, not URL(): the {z}/{x}/{y} braces must stay unescaped.
  const base = template.split("?")[0];
  const query = new URLSearchParams();
  if (params.services) query.set("service", params.services.join(","));
  if (params.since) query.set("since", params.since);
  if (params.until) query.set("until", params.until);
  const search = query.toString();
  source.setTiles([search ? `${base}?${search}` : base]);
}

/** Whether the page's checkbox for a layer group is ticked. */
export function layerWanted(group) {
  const box = document.querySelector(`input[data-layer="${group}"]`);
  return !box || box.checked;
}

/** Show each layer group as its checkbox says. */
export function applyLayerToggles(map, comparing) {
  const set = (id, on) => {
    if (map.getLayer(id)) map.setLayoutProperty(id, "visibility", on ? "visible" : "none");
  };
  for (const [group, ids] of Object.entries(LAYER_GROUPS)) {
    // The shown run's cells and areas give way to the comparison.
    const on = layerWanted(group) && !(comparing && (group === "cells" || group === "areas"));
    ids.forEach((id) => set(id, on));
  }
  ["compare-cells", "compare-lines"].forEach((id) => set(id, comparing));
}

/** The bounding box [[w, s], [e, n]] of a FeatureCollection's geometries, or null. */
export function bboxOf(collection) {
  let w = Infinity; let s = Infinity; let e = -Infinity; let n = -Infinity;
  const visit = (c) => {
    if (typeof c[0] === "number") {
      w = Math.min(w, c[0]); e = Math.max(e, c[0]); s = Math.min(s, c[1]); n = Math.max(n, c[1]);
    } else c.forEach(visit);
  };
  for (const f of collection.features || []) if (f.geometry) visit(f.geometry.coordinates);
  return Number.isFinite(w) ? [[w, s], [e, n]] : null;
}
