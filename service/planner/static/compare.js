// Comparing two runs cell by cell: which cells' gi_bin went up or down.

/** Join two runs' cells on h3: one feature per cell with both runs' values and the change. */
export function compareRuns(cellsA, cellsB) {
  // change is "hotter" or "cooler" (gi_bin of B above or below A), "same", or
  // "only_a" / "only_b" for cells outside the other run's study area. Runs at
  // different H3 resolutions share no cells, which the counts make plain.
  const byA = new Map(cellsA.features.map((f) => [f.properties.h3, f]));
  const byB = new Map(cellsB.features.map((f) => [f.properties.h3, f]));
  const counts = { hotter: 0, cooler: 0, same: 0, only_a: 0, only_b: 0 };
  const features = [];
  for (const h3 of new Set([...byA.keys(), ...byB.keys()])) {
    const a = byA.get(h3);
    const b = byB.get(h3);
    let change;
    let delta = 0;
    if (a && b) {
      delta = b.properties.gi_bin - a.properties.gi_bin;
      change = delta > 0 ? "hotter" : delta < 0 ? "cooler" : "same";
    } else {
      change = a ? "only_a" : "only_b";
    }
    counts[change] += 1;
    const pick = (f, key) => (f ? f.properties[key] : null);
    features.push({
      type: "Feature",
      id: h3,
      geometry: (a || b).geometry,
      properties: {
        h3, change, delta,
        gi_bin_a: pick(a, "gi_bin"), gi_bin_b: pick(b, "gi_bin"),
        gi_z_a: pick(a, "gi_z"), gi_z_b: pick(b, "gi_z"),
        reports_a: pick(a, "reports"), reports_b: pick(b, "reports"),
        no_data_a: pick(a, "no_data"), no_data_b: pick(b, "no_data"),
      },
    });
  }
  return { collection: { type: "FeatureCollection", features }, counts };
}

/** One sentence summing up a comparison. */
export function describeComparison(idA, idB, counts) {
  const parts = [`${counts.hotter} cells hotter`, `${counts.cooler} cooler`,
    `${counts.same} unchanged`];
  if (counts.only_a || counts.only_b) {
    parts.push(`${counts.only_a} only in #${idA}`, `${counts.only_b} only in #${idB}`);
  }
  return `Run #${idA} → #${idB}: ${parts.join(", ")}.`;
}
