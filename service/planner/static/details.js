// The details panel: every field of a clicked cell, area, district or compared cell.

const CONFIDENCE = { 1: "90 %", 2: "95 %", 3: "99 %" };

/** What a gi_bin means in words (no-data first: few reports never read as "safe"). */
export function binMeaning(bin, noData) {
  if (noData) return "no data: no reports in the neighbourhood";
  if (bin > 0) return `hot spot, ${CONFIDENCE[bin]} confidence (FDR)`;
  if (bin < 0) return `cold spot, ${CONFIDENCE[-bin]} confidence (FDR)`;
  return "not significant";
}

/** Emerging hot spot trends in words ("rising" is what a planner asks about). */
const TREND_WORDS = {
  new_hot_spot: "new", consecutive_hot_spot: "recent", intensifying_hot_spot: "rising",
  persistent_hot_spot: "steady", diminishing_hot_spot: "falling",
  sporadic_hot_spot: "on and off", oscillating_hot_spot: "was cold before",
  historical_hot_spot: "no longer hot", new_cold_spot: "new", consecutive_cold_spot: "recent",
  intensifying_cold_spot: "falling further", persistent_cold_spot: "steady",
  diminishing_cold_spot: "warming", sporadic_cold_spot: "on and off",
  oscillating_cold_spot: "was hot before", historical_cold_spot: "no longer cold",
  no_pattern_detected: "no clear trend",
};

/** One plain sentence: "Hot spot, 99 % confidence; 14 reports; rising; priority 1". */
export function plainWords(props) {
  const meaning = binMeaning(props.gi_bin, props.no_data).replace(" (FDR)", "");
  const parts = [meaning.charAt(0).toUpperCase() + meaning.slice(1)];
  if (typeof props.reports === "number") {
    parts.push(`${props.reports} report${props.reports === 1 ? "" : "s"}`);
  }
  if (props.trend) parts.push(TREND_WORDS[props.trend] || String(props.trend).replaceAll("_", " "));
  if (props.priority_rank) parts.push(`priority ${props.priority_rank}`);
  return parts.join("; ");
}

/** The raw fields inside a closed disclosure: one click away, never in the way. */
function rawFields(list) {
  const box = document.createElement("details");
  box.className = "raw";
  box.append(heading("summary", "All fields"), list);
  return box;
}

const CELL_FIELDS = ["h3", "reports", "weight", "gi_z", "gi_p", "gi_bin", "n_neighbors",
  "no_data", "trend", "priority_score", "priority_rank", "area_id"];
const AREA_FIELDS = ["area_id", "cells", "reports", "weight", "population", "trend",
  "priority_score", "priority_rank"];

function format(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "number" && !Number.isInteger(value)) {
    return Math.abs(value) < 0.001 && value !== 0 ? value.toExponential(2) : value.toFixed(3);
  }
  return String(value);
}

/** Tile properties arrive flat, so a nested object may come as a JSON string. */
function asObject(value) {
  if (typeof value === "string") {
    try { return JSON.parse(value); } catch { return null; }
  }
  return value && typeof value === "object" ? value : null;
}

function heading(tag, text) {
  const el = document.createElement(tag);
  el.textContent = text;
  return el;
}

// Built with textContent only: names and trends are data and must never become markup.
function fieldList(props, fields, prefix = "") {
  const dl = document.createElement("dl");
  for (const key of fields) {
    if (!(key in props)) continue;
    const dt = document.createElement("dt");
    dt.textContent = key;
    const dd = document.createElement("dd");
    dd.dataset.field = prefix + key;
    dd.textContent = format(props[key]);
    if (key === "gi_bin") dd.title = binMeaning(props.gi_bin, props.no_data);
    dl.append(dt, dd);
  }
  const components = asObject(props.components);
  if (components) {
    const dt = document.createElement("dt");
    dt.textContent = "components";
    const dd = document.createElement("dd");
    dd.dataset.field = `${prefix}components`;
    dd.textContent = Object.entries(components)
      .map(([k, v]) => `${k} ${format(v)}`).join(" · ") || "—";
    dl.append(dt, dd);
  }
  return dl;
}

/** Replace the panel's content with a title and the given nodes. */
function show(panel, title, ...nodes) {
  panel.replaceChildren(heading("h2", title), ...nodes);
}

/** Show a cell of the shown run, and the priority area it belongs to. */
export function showCell(panel, runId, props, area) {
  const meaning = heading("p", plainWords(props));
  meaning.className = `meaning bin-${props.no_data ? "nodata" : props.gi_bin}`;
  meaning.dataset.plain = "cell";
  const nodes = [meaning, rawFields(fieldList(props, CELL_FIELDS))];
  if (area) {
    const words = heading("p", `${area.cells} cells; ${area.reports} reports; `
      + `priority ${area.priority_rank}${area.trend ? `; ${TREND_WORDS[area.trend] || area.trend}` : ""}`);
    words.dataset.plain = "area";
    nodes.push(heading("h3", `Priority area ${area.area_id}`), words,
      rawFields(fieldList(area, AREA_FIELDS, "area.")));
  }
  show(panel, `Cell of run #${runId}`, ...nodes);
}

/** Show a district (or city) boundary. */
export function showBoundary(panel, props) {
  show(panel, props.name || "Boundary",
    fieldList(props, ["kind", "name", "code", "population", "id"]));
}

/** Show a cell of a comparison: both runs' bins side by side. */
export function showComparedCell(panel, idA, idB, props) {
  const table = document.createElement("table");
  table.className = "compare";
  const row = (label, a, b) => {
    const tr = document.createElement("tr");
    for (const [i, v] of [label, a, b].entries()) {
      const cell = document.createElement(i === 0 ? "th" : "td");
      cell.textContent = i === 0 ? v : format(v);
      tr.append(cell);
    }
    return tr;
  };
  table.append(row("", `#${idA}`, `#${idB}`),
    row("gi_bin", props.gi_bin_a, props.gi_bin_b),
    row("gi_z", props.gi_z_a, props.gi_z_b),
    row("reports", props.reports_a, props.reports_b),
    row("no_data", props.no_data_a, props.no_data_b));
  const h3 = heading("p", props.h3);
  h3.dataset.field = "h3";
  const change = {
    hotter: `hotter in #${idB}`, cooler: `cooler in #${idB}`, same: "unchanged",
    only_a: `only in #${idA}`, only_b: `only in #${idB}`,
  }[props.change];
  show(panel, `Cell ${change}`, h3, table);
}

const INTERVENTION_FIELDS = ["name", "programme", "services", "start_date", "end_date", "cost",
  "funding_source", "id"];
const EVALUATION_FIELDS = ["status", "effect_ratio", "ci_low", "ci_high", "p_value",
  "treated_cells", "control_cells", "cost_per_avoided_report"];

/** Show an intervention and, when it could be read, whether it worked. */
export function showIntervention(panel, props, evaluation) {
  const nodes = [fieldList(props, INTERVENTION_FIELDS)];
  if (evaluation) {
    nodes.push(heading("h3", "Did it work?"), fieldList(evaluation, EVALUATION_FIELDS, "evaluation."));
    const caveats = document.createElement("ul");
    caveats.className = "caveats";
    for (const text of evaluation.caveats || []) caveats.append(heading("li", text));
    nodes.push(caveats);
  }
  show(panel, props.name || "Intervention", ...nodes);
}

/** Back to the hint. */
export function clearDetails(panel) {
  const hint = heading("p", "Click a cell, an area, a district or an intervention on the map.");
  hint.className = "muted";
  show(panel, "Details", hint);
}
