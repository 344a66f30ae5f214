// The planners' map page: runs, filters, "Run now", the map, clicks and comparisons.

import {
  ApiError, apiKey, forgetApiKey, newIdempotencyKey, requestJSON, setApiKey, signOut,
} from "./api.js";
import { applyLayerToggles } from "./layers.js";
import { createRunMap, mapMessage } from "./runmap.js";
import { filterParams, matchesFilters, renderRuns } from "./runs.js";

// The MapLibre URL carries its version query from the page, so it is imported
// dynamically rather than named in a static import here.
const maplibregl = await import(document.body.dataset.maplibre);
if (document.body.dataset.basemapModule) {
  // The city's basemap (docs/residents-app.md "Basemap"): streets under the cells.
  const { registerBasemap } = await import(document.body.dataset.basemapModule);
  await registerBasemap(maplibregl);
}

const POLL_MS = 4000;
const READERS = ["planner", "grant_writer", "admin"];
const RUNNERS = ["planner", "admin"];
const $ = (id) => document.getElementById(id);

const query = new URLSearchParams(window.location.search);
const state = {
  role: null,
  runs: [],
  runA: Number(query.get("run")) || null,
  runB: Number(query.get("compare")) || null,
  userChoseRun: Boolean(query.get("run")),
  cellsFrom: query.get("cells"), // "tiles" or "geojson" forces a source; else by size
  pendingRun: null,
  fitted: null, // null, "boundaries" or "run": what the view was fitted to
  shown: null, // {runId, tiles}: what the map draws now
  geojson: new Map(), // "cells:12" / "areas:12" → Promise of the FeatureCollection
  comparison: null,
  noMatch: false, // the map message says no run matches the filters
};

const runMap = createRunMap(maplibregl, state);
const { map, showRun, showComparison, rememberInUrl } = runMap;

function latestSucceeded(runs) {
  const done = runs.filter((r) => r.status === "succeeded");
  done.sort((x, y) => (y.finished_at || "").localeCompare(x.finished_at || "") || y.id - x.id);
  return done[0] || null;
}

function redrawRuns() {
  renderRuns($("runs").querySelector("tbody"), state.runs, {
    runA: state.runA, runB: state.runB, onlyMatching: $("only-matching").checked,
  });
}

/** The run to show: the one just started once it is done, the chosen one, or the latest. */
function chooseRun() {
  const pending = state.runs.find((r) => r.id === state.pendingRun);
  if (pending && pending.status === "succeeded") {
    state.pendingRun = null;
    state.userChoseRun = false;
    return pending.id;
  }
  if (state.userChoseRun && state.runA) return state.runA;
  if ($("only-matching").checked) {
    const latest = latestSucceeded(state.runs.filter((r) => matchesFilters(r, filterParams())));
    return latest ? latest.id : null;
  }
  // What "latest" means everywhere: the standing city-wide configuration, so a
  // lead-paint run finishing elsewhere does not swap the map under the planner.
  const latest = latestSucceeded(state.runs.filter((r) => r.configuration === "city-wide"))
    || latestSucceeded(state.runs);
  return latest ? latest.id : null;
}

let pollTimer = null;

/** Refresh the run list now, then every few seconds while the tab is visible. */
async function poll() {
  clearTimeout(pollTimer);
  if (!document.hidden) {
    try {
      const body = await requestJSON("/api/v1/hotspot-runs?page_size=50");
      state.runs = body.runs;
      $("runs-updated").textContent = `· updated ${new Date().toLocaleTimeString()}`;
      const wanted = chooseRun();
      // A failed load leaves shownRun behind, so the next poll tries again.
      if (wanted && document.body.dataset.shownRun !== String(wanted)) await showRun(wanted);
      else if (wanted && state.noMatch) mapMessage("");
      else if (!wanted && state.runA) {
        mapMessage(`Showing run #${state.runA}: no finished run matches the filters yet.`);
      } else if (!wanted) mapMessage("No finished run yet. Press “Run now” to start one.");
      state.noMatch = !wanted;
      redrawRuns();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        askForKey("That key is not valid (any more). Paste another.");
        return;
      }
      $("runs-updated").textContent = `· not updated: ${err.message}`;
    }
  }
  pollTimer = setTimeout(poll, POLL_MS);
}

/** Start a run with the filters' parameters (an Idempotency-Key makes a retry safe). */
async function runNow() {
  const button = $("run-now");
  button.disabled = true;
  const key = newIdempotencyKey();
  const send = () => requestJSON("/api/v1/hotspot-runs", {
    method: "POST", body: filterParams(), headers: { "Idempotency-Key": key },
  });
  try {
    let run;
    try {
      run = await send();
    } catch (err) {
      if (err instanceof ApiError) throw err;
      run = await send(); // the network failed: the same key cannot start a second run
    }
    state.pendingRun = run.id;
    $("run-msg").textContent = `Run #${run.id} queued; it will be shown when it has finished.`;
    await poll();
  } catch (err) {
    $("run-msg").textContent = `Could not start a run: ${err.message}`;
  } finally {
    button.disabled = false;
  }
}

async function loadServices() {
  try {
    const services = await requestJSON("/open311/v2/services.json");
    const select = $("service");
    for (const s of services) {
      const option = document.createElement("option");
      option.value = s.service_code;
      option.textContent = `${s.service_name} (${s.service_code})`;
      select.append(option);
    }
  } catch (err) {
    $("run-msg").textContent = `Services not loaded: ${err.message}`;
  }
}

function askForKey(message) {
  clearTimeout(pollTimer);
  $("sign-in").hidden = false;
  $("key-details").hidden = false;
  $("who").hidden = false;
  $("who").textContent = message;
  $("signed-in").hidden = true;
  $("run-now").hidden = true;
  mapMessage(message);
}

/** Who is here (the sign-in session, or a pasted key), then load everything they may read. */
async function start() {
  const usingKey = Boolean(apiKey());
  try {
    const who = await requestJSON("/planner/whoami");
    state.role = who.role;
    if (!READERS.includes(who.role)) {
      askForKey(usingKey || who.role
        ? `A ${who.role || "missing"} ${usingKey ? "key" : "account"} cannot read hotspot runs.`
        : "Sign in to load the runs (or paste an API key).");
      return;
    }
    // Signed in: the sign-in link and key form give way to one line (a key is never shown).
    $("sign-in").hidden = true;
    $("key-details").hidden = true;
    $("who").hidden = true;
    $("who-role").textContent = `Signed in as ${who.role}${who.name ? ` (${who.name})` : ""}`;
    $("forget-key").textContent = usingKey ? "Forget key" : "Sign out";
    $("signed-in").hidden = false;
    $("run-now").hidden = !RUNNERS.includes(who.role);
    mapMessage("");
  } catch (err) {
    askForKey(err instanceof ApiError && err.status === 401
      ? "That key is not valid. Paste another, or sign in." : `Could not check who you are: ${err.message}`);
    return;
  }
  runMap.loadReportsLayer();
  runMap.loadInterventions();  // signed in: staff also get cost and the evaluation
  poll();
}

// Wiring.
$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = $("api-key").value.trim();
  if (!key) return;
  setApiKey(key);
  $("api-key").value = "";
  start();
});
$("forget-key").addEventListener("click", () => {
  if (apiKey()) {
    forgetApiKey();
    window.location.reload();
  } else {
    signOut();
  }
});
$("run-now").addEventListener("click", runNow);
for (const id of ["service", "since", "until", "only-matching"]) {
  $(id).addEventListener("change", () => {
    // A filter change under "only matching" asks to see that selection's newest run.
    if ($("only-matching").checked) state.userChoseRun = false;
    runMap.refilterReports();
    poll();
  });
}
$("sidebar").addEventListener("change", (event) => {
  const input = event.target;
  if (input.name === "run-a") {
    state.userChoseRun = true;
    showRun(Number(input.value)).then(redrawRuns);
  } else if (input.name === "run-b") {
    state.runB = Number(input.value) || null; // "" is "No comparison"
    rememberInUrl();
    showComparison().then(redrawRuns);
  } else if (input.dataset.layer) {
    runMap.loaded.then(() => applyLayerToggles(map, Boolean(state.comparison)));
  }
});
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && state.role) poll();
});

loadServices();
runMap.loadBoundaries();
start();
