// The location map: MapLibre (loaded only when a map is shown, so the shell stays
// small), the city's basemap when one is configured, and a pin the resident drags.
import { _ } from "./i18n.js";

const body = document.body;
let maplibre = null;
let map = null;
let marker = null;

const BLANK = {
  version: 8,
  sources: {},
  layers: [{ id: "background", type: "background", paint: { "background-color": "#e9eef2" } }],
};

async function library() {
  if (maplibre) return maplibre;
  if (!document.querySelector("link[data-maplibre]")) {
    const css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = body.dataset.maplibreCss;
    css.dataset.maplibre = "";
    document.head.append(css);
  }
  const lib = await import(body.dataset.maplibre);
  if (body.dataset.basemapModule) {
    const { registerBasemap } = await import(body.dataset.basemapModule);
    await registerBasemap(lib);
  }
  maplibre = lib;
  return maplibre;
}

/** Show the map in `container`; `onMove({lat, long})` is called when the pin moves. */
export async function showMap(container, onMove) {
  if (map) return map;
  let lib;
  try {
    lib = await library();
  } catch (err) {
    container.hidden = true;  // no WebGL or no library: GPS and the address still work
    return null;
  }
  map = new lib.Map({
    container,
    style: body.dataset.basemap || BLANK,
    center: [0, 0],
    zoom: 1,
    attributionControl: false,
    cooperativeGestures: false,
  });
  map.getCanvas().setAttribute("aria-label", _("Map: drag the pin or tap to place the problem"));
  marker = new lib.Marker({ draggable: true, color: "#0e548c" });
  marker.getElement().setAttribute("aria-label", _("Pin of the problem's place"));
  marker.on("dragend", () => {
    const p = marker.getLngLat();
    onMove({ lat: p.lat, long: p.lng });
  });
  map.on("click", (e) => {
    marker.setLngLat(e.lngLat).addTo(map);
    onMove({ lat: e.lngLat.lat, long: e.lngLat.lng });
  });
  window.civicAppMap = map;  // for tests and screenshots
  return map;
}

/** Put the pin at `point` and bring it into view. */
export function placePin(point) {
  if (!map || !marker) return;
  marker.setLngLat([point.long, point.lat]).addTo(map);
  map.jumpTo({ center: [point.long, point.lat], zoom: Math.max(map.getZoom(), 15.5) });
}
