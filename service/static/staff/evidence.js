// /staff/evidence: request a pack over the API with the session, follow it, list past packs.
"use strict";
(function () {
  var API = "/api/v1/exports";
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var form = document.getElementById("pack-form");
  var formError = document.getElementById("form-error");
  var areaNames = {};
  Array.prototype.forEach.call(document.getElementById("area").options, function (o) {
    areaNames[o.value] = o.textContent;
  });

  function api(method, url, body) {
    var headers = { "Accept": "application/json" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["X-CSRFToken"] = csrf;
      // A retried click must not make a second pack.
      headers["Idempotency-Key"] = body.__key;
      delete body.__key;
    }
    return fetch(url, { method: method, headers: headers, credentials: "same-origin",
                        body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (resp) {
        return resp.json().catch(function () { return {}; }).then(function (data) {
          if (!resp.ok) {
            var err = new Error(data.detail || data.title || ("The server answered " + resp.status));
            err.data = data;
            throw err;
          }
          return data;
        });
      });
  }

  function key() {
    return (window.crypto && crypto.randomUUID) ? crypto.randomUUID()
      : String(Date.now()) + Math.random().toString(16).slice(2);
  }

  function checked(name) {
    return Array.prototype.map.call(form.querySelectorAll('input[name="' + name + '"]:checked'),
                                    function (i) { return i.value; });
  }

  function requestBody() {
    var body = { area: { boundary_id: Number(form.area.value) }, __key: key() };
    var services = checked("services");
    if (services.length) { body.services = services; }
    if (form.since.value) { body.since = form.since.value; }
    if (form.until.value) { body.until = form.until.value; }
    body.run = form.run.value === "latest" ? "latest" : Number(form.run.value);
    if (form.budget.value) { body.budget = Number(form.budget.value); }
    var costs = {};
    form.querySelectorAll('input[name="cost"]').forEach(function (i) {
      if (i.value) { costs[i.getAttribute("data-service")] = Number(i.value); }
    });
    if (Object.keys(costs).length) { body.unit_costs = costs; }
    body.formats = checked("formats");
    return body;
  }

  function describe(params) {
    var area = params.area || {};
    var where = area.boundary_id !== undefined ? (areaNames[String(area.boundary_id)] || ("boundary " + area.boundary_id))
      : (area.name || "a drawn area");
    var what = (params.services || []).join(", ") || "the run's services";
    return where + " · " + what + (params.budget ? " · budget $" + Number(params.budget).toLocaleString("en-US") : "");
  }

  function statusText(pack) {
    if (pack.status === "succeeded") { return "Ready."; }
    if (pack.status === "failed") { return "Failed: " + (pack.error || "see the server log") + "."; }
    if (pack.status === "queued") { return "Waiting for a worker…"; }
    return "Making the pack: " + pack.progress + " %";
  }

  // The pack requested on this page: poll until it is done.
  var current = null;
  function showCurrent(pack) {
    current = pack;
    document.getElementById("current-empty").hidden = true;
    document.getElementById("current-pack").hidden = false;
    document.getElementById("current-status").textContent = "Pack " + pack.id + ": " + statusText(pack);
    document.getElementById("current-progress").value = pack.status === "succeeded" ? 100 : pack.progress;
    var link = document.getElementById("current-download");
    if (pack.download_url) {
      link.href = pack.download_url;
      link.setAttribute("download", "evidence-pack-" + pack.id + ".zip");
      link.hidden = false;
    } else {
      link.hidden = true;
    }
    if (pack.status === "queued" || pack.status === "running") {
      setTimeout(function () { api("GET", API + "/" + pack.id).then(showCurrent, showError); }, 1000);
    } else {
      loadPast();
    }
  }

  function showError(err) {
    var fields = ((err.data || {}).errors || []).map(function (e) { return e.field; });
    formError.textContent = err.message + (fields.length ? " (" + fields.join(", ") + ")" : "");
    formError.hidden = false;
  }

  function submit(body) {
    formError.hidden = true;
    return api("POST", API, body).then(function (pack) { showCurrent(pack); loadPast(); }, showError);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submit(requestBody());
  });

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function loadPast() {
    api("GET", API + "?page_size=20").then(function (data) {
      var tbody = document.querySelector("#past tbody");
      tbody.textContent = "";
      data.exports.forEach(function (pack) {
        var row = document.createElement("tr");
        cell(row, "Pack " + pack.id);
        cell(row, (pack.created_at || "").slice(0, 16).replace("T", " "));
        cell(row, describe(pack.params));
        cell(row, statusText(pack));
        var actions = cell(row, "");
        if (pack.download_url) {
          var a = document.createElement("a");
          a.href = pack.download_url;
          a.textContent = "Download pack " + pack.id;
          actions.appendChild(a);
          actions.appendChild(document.createTextNode(" "));
        }
        if ((pack.params.area || {}).boundary_id !== undefined) {  // a drawn area is not kept
          var again = document.createElement("button");
          again.type = "button";
          again.textContent = "Run pack " + pack.id + " again";
          again.addEventListener("click", function () { submit(rerun(pack.params)); });
          actions.appendChild(again);
        }
        tbody.appendChild(row);
      });
    }, showError);
  }

  // The stored parameters as a new request: the same area, services, period and money.
  function rerun(params) {
    var body = { area: { boundary_id: params.area.boundary_id }, __key: key() };
    ["services", "since", "until", "budget", "unit_costs", "formats"].forEach(function (name) {
      if (params[name] !== undefined && params[name] !== null) { body[name] = params[name]; }
    });
    body.run = params.run_id !== undefined ? params.run_id : "latest";
    return body;
  }

  loadPast();
})();
