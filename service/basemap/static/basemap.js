// Basemap plumbing: a PMTiles basemap served by CivicPulse is read with HTTP range
// requests through the `pmtiles://` protocol (the vendored PMTiles reader).
let registered = null;

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(script);
  });
}

/** Make `maplibre` understand pmtiles:// when the page's basemap is a PMTiles file. */
export function registerBasemap(maplibre) {
  const reader = document.body.dataset.pmtiles;
  if (!reader) return Promise.resolve();
  if (!registered) {
    registered = loadScript(reader).then(() => {
      const protocol = new window.pmtiles.Protocol();
      maplibre.addProtocol("pmtiles", protocol.tile);
    });
  }
  return registered;
}
