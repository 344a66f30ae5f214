// /staff/admin: create an API key (shown once) and revoke keys, over /api/v1/keys.
"use strict";
(function () {
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var error = document.getElementById("key-error");

  function call(method, url, body) {
    var headers = { "Accept": "application/json", "X-CSRFToken": csrf };
    if (body) { headers["Content-Type"] = "application/json"; }
    return fetch(url, { method: method, headers: headers, credentials: "same-origin",
                        body: body ? JSON.stringify(body) : undefined })
      .then(function (resp) {
        if (resp.status === 204) { return {}; }
        return resp.json().catch(function () { return {}; }).then(function (data) {
          if (!resp.ok) { throw new Error(data.detail || ("The server answered " + resp.status)); }
          return data;
        });
      });
  }

  function fail(err) {
    error.textContent = err.message;
    error.hidden = false;
  }

  document.getElementById("key-form").addEventListener("submit", function (event) {
    event.preventDefault();
    error.hidden = true;
    var form = event.target;
    call("POST", "/api/v1/keys", { name: form.name.value, role: form.role.value }).then(function (made) {
      document.getElementById("new-key-value").textContent = made.key;
      document.getElementById("new-key").hidden = false;
      form.reset();
      addRow(made);
    }, fail);
  });

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function revokeButton(id) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "danger";
    button.setAttribute("data-revoke", id);
    button.textContent = "Revoke key " + id;
    return button;
  }

  function addRow(key) {
    var row = document.createElement("tr");
    row.setAttribute("data-key-id", key.id);
    [key.id, key.name, key.role.replace("_", " ")].forEach(function (v) { cell(row, String(v)); });
    var code = document.createElement("code");
    code.textContent = key.prefix;
    cell(row, "").appendChild(code);
    cell(row, key.created_at.slice(0, 16).replace("T", " "));
    cell(row, "").appendChild(revokeButton(key.id));
    var tbody = document.querySelector("#keys tbody");
    tbody.insertBefore(row, tbody.firstChild);
  }

  document.getElementById("keys").addEventListener("click", function (event) {
    var id = event.target.getAttribute && event.target.getAttribute("data-revoke");
    if (!id) { return; }
    error.hidden = true;
    call("DELETE", "/api/v1/keys/" + id).then(function () {
      event.target.parentNode.textContent = "revoked just now";
    }, fail);
  });
})();
