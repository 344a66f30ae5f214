// The list of hotspot runs: status, progress, parameters, and which two are chosen.

/** The run parameters the page's filters stand for (the body of "Run now"). */
export function filterParams() {
  const service = document.getElementById("service").value;
  const since = document.getElementById("since").value;
  const until = document.getElementById("until").value;
  const params = {};
  if (service) params.services = [service];
  if (since) params.since = since;
  if (until) params.until = until;
  return params;
}

/** True when a run was made with exactly the filters' service and period. */
export function matchesFilters(run, params) {
  const services = [...(run.params.services || [])].sort().join(",");
  return services === (params.services || []).join(",")
    && (run.params.since || "") === (params.since || "")
    && (run.params.until || "") === (params.until || "");
}

function describe(run) {
  const p = run.params || {};
  if (run.configuration) return `${run.configuration} (standing) · r${p.resolution ?? "?"}`;
  const services = p.services && p.services.length ? p.services.join(", ") : "all services";
  const period = p.since || p.until ? `${p.since || "…"} – ${p.until || "…"}` : "all time";
  return `${services} · ${period} · r${p.resolution ?? "?"}`;
}

function radio(name, run, checked) {
  const input = document.createElement("input");
  input.type = "radio";
  input.name = name;
  input.value = String(run.id);
  input.checked = checked;
  // Only a finished run has cells to draw.
  input.disabled = run.status !== "succeeded";
  input.setAttribute("aria-label", `${name === "run-a" ? "Show" : "Compare with"} run ${run.id}`);
  return input;
}

function statusCell(run) {
  const td = document.createElement("td");
  const badge = document.createElement("span");
  badge.className = `status status-${run.status}`;
  badge.textContent = run.status;
  td.append(badge);
  if (run.status === "queued" || run.status === "running") {
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = run.progress || 0;
    bar.textContent = `${run.progress || 0} %`;
    bar.title = `${run.progress || 0} %`;
    td.append(bar);
  }
  if (run.status === "failed" && run.error) badge.title = run.error;
  return td;
}

/** Redraw the table body from the runs (newest first), keeping the chosen A and B. */
export function renderRuns(tbody, runs, { runA, runB, onlyMatching }) {
  const params = filterParams();
  const rows = [];
  for (const run of runs) {
    if (onlyMatching && !matchesFilters(run, params)) continue;
    const tr = document.createElement("tr");
    tr.dataset.runId = String(run.id);
    if (run.id === runA) tr.className = "shown";
    const a = document.createElement("td");
    a.append(radio("run-a", run, run.id === runA));
    const b = document.createElement("td");
    b.append(radio("run-b", run, run.id === runB));
    const id = document.createElement("td");
    id.textContent = String(run.id);
    const params_ = document.createElement("td");
    params_.textContent = describe(run);
    params_.title = `created ${run.created_at}${run.finished_at ? `, finished ${run.finished_at}` : ""}`;
    tr.append(a, b, id, statusCell(run), params_);
    rows.push(tr);
  }
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = 5;
    td.className = "muted";
    td.textContent = runs.length ? "No run with these filters yet." : "No runs yet.";
    tr.append(td);
    rows.push(tr);
  }
  tbody.replaceChildren(...rows);
}
