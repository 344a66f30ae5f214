// The report screen: service and its questions, place, photos, details, "me too".
import * as api from "./api.js";
import { _, language } from "./i18n.js";
import { showMap, placePin } from "./map.js";
import { downscale, exifPosition } from "./photos.js";
import * as queue from "./queue.js";
import { h } from "./ui.js";

const $ = (id) => document.getElementById(id);
const state = { services: [], service: null, point: null, suggestion: null, photos: [] };
let onDone = () => {};

/** A service's name, description and questions in the reader's language (the city's words). */
export function translated(service) {
  const t = (service.translations || []).find((x) => x.language === language()) || {};
  const questions = new Map((t.attributes || []).map((q) => [q.code, q]));
  return {
    name: t.service_name || service.service_name,
    description: t.description || service.description,
    group: t.group || service.group,
    attributes: service.attributes.map((a) => {
      const q = questions.get(a.code) || {};
      const names = new Map((q.values || []).map((v) => [v.key, v.name]));
      return {
        ...a,
        description: q.description || a.description || a.code,
        values: (a.values || []).map((v) => ({ ...v, name: names.get(v.key) || v.name })),
      };
    }),
  };
}

/** The service with `code`, if the app knows it. */
export function serviceByCode(code) {
  return state.services.find((s) => s.service_code === code) || null;
}

/** Load the services (the service worker answers from its cache when offline). */
export async function loadServices() {
  try {
    const resp = await fetch(document.body.dataset.services);
    if (!resp.ok) throw new Error(String(resp.status));
    state.services = (await resp.json()).services;
  } catch {
    state.services = [];
  }
  $("services-missing").hidden = state.services.length > 0;
  renderServices();
}

function renderServices() {
  const list = $("service-list");
  const chosen = state.service && state.service.service_code;
  list.replaceChildren();
  let group = null;
  for (const service of state.services) {
    const words = translated(service);
    if (words.group && words.group !== group) {
      group = words.group;
      list.append(h("p", { class: "group-title", text: group }));
    }
    const input = h("input", { type: "radio", name: "service", value: service.service_code,
                               checked: service.service_code === chosen,
                               onchange: () => chooseService(service) });
    list.append(h("label", { class: "choice" }, input,
                  h("span", {}, words.name, words.description ? h("small", { text: words.description }) : null)));
  }
}

function chooseService(service) {
  state.service = service;
  renderQuestions();
  refreshNearby();
}

function questionField(a) {
  const id = `q-${a.code}`;
  const mark = a.required ? [" ", h("span", { class: "required", "aria-hidden": "true", text: "*" })] : [];
  const common = { id, name: a.code, required: a.required, "aria-required": a.required ? "true" : null };
  if (a.datatype === "singlevaluelist" || a.datatype === "multivaluelist") {
    const type = a.datatype === "singlevaluelist" ? "radio" : "checkbox";
    return h("fieldset", { class: "checks", "data-code": a.code, "data-datatype": a.datatype,
                           "aria-required": a.required ? "true" : null },
             h("legend", {}, a.description, ...mark),
             a.values.map((v) => h("label", { class: "choice" },
                                   h("input", { type, name: a.code, value: v.key }), v.name)));
  }
  let input;
  if (a.datatype === "text") input = h("textarea", { ...common, rows: 3, maxlength: 4000 });
  else if (a.datatype === "number") input = h("input", { ...common, type: "number", step: "any", inputmode: "decimal" });
  else if (a.datatype === "datetime") input = h("input", { ...common, type: "datetime-local" });
  else input = h("input", { ...common, type: "text", maxlength: 1000 });
  return h("div", { "data-code": a.code, "data-datatype": a.datatype },
           h("label", { for: id }, a.description, ...mark), input);
}

function renderQuestions() {
  const box = $("question-list");
  box.replaceChildren();
  const attributes = state.service ? translated(state.service).attributes : [];
  $("questions").hidden = attributes.length === 0;
  for (const a of attributes) box.append(questionField(a));
}

function answers(errors) {
  const out = {};
  for (const a of state.service ? translated(state.service).attributes : []) {
    const wrap = $("question-list").querySelector(`[data-code="${a.code}"]`);
    let value = null;
    if (a.datatype === "multivaluelist") {
      const keys = [...wrap.querySelectorAll("input:checked")].map((i) => i.value);
      value = keys.length ? keys : null;
    } else if (a.datatype === "singlevaluelist") {
      const picked = wrap.querySelector("input:checked");
      value = picked ? picked.value : null;
    } else {
      const raw = wrap.querySelector("input, textarea").value.trim();
      if (raw && a.datatype === "number") {
        value = Number(raw);
        if (!Number.isFinite(value)) errors.push([`q-${a.code}`, _("{question}: enter a number", { question: a.description })]);
      } else if (raw && a.datatype === "datetime") {
        value = new Date(raw).toISOString();
      } else if (raw) {
        value = raw;
      }
    }
    if (value === null && a.required) {
      errors.push([wrap.querySelector("input, textarea").id || `q-${a.code}`,
                   _("{question}: this answer is required", { question: a.description })]);
    }
    if (value !== null) out[a.code] = value;
  }
  return out;
}

function setPoint(point, source) {
  state.point = point;
  let text;
  if (source === "gps") text = _("Your location, accurate to about {metres} m.", { metres: Math.round(point.accuracy) });
  else if (source === "photo") text = _("The place where the photo was taken.");
  else text = _("The place you marked on the map.");
  $("location-text").textContent = text;
  $("location-coords").textContent = `${point.lat.toFixed(5)}, ${point.long.toFixed(5)}`;
  if (source !== "pin") placePin(point);
  refreshNearby();
}

function locate() {
  if (!navigator.geolocation) {
    $("location-text").textContent = _("This phone cannot tell its location: mark the place on the map.");
    return;
  }
  $("location-text").textContent = _("Finding your location…");
  navigator.geolocation.getCurrentPosition(
    (pos) => setPoint({ lat: pos.coords.latitude, long: pos.coords.longitude,
                        accuracy: pos.coords.accuracy }, "gps"),
    () => { $("location-text").textContent = _("Your location is not available: mark the place on the map."); },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
  );
}

async function addPhoto(file) {
  const where = await exifPosition(file).catch(() => null);
  if (where && !state.suggestion) {
    state.suggestion = where;
    $("use-photo-location").hidden = false;
  }
  const blob = await downscale(file);
  const photo = { blob, url: URL.createObjectURL(blob) };
  state.photos.push(photo);
  renderPhotos();
}

function renderPhotos() {
  $("photo-list").replaceChildren(...state.photos.map((photo, i) => h("li", {},
    h("img", { src: photo.url, alt: _("Photo {number}", { number: i + 1 }) }),
    h("button", { type: "button", class: "small", text: _("Remove"),
                  "aria-label": _("Remove photo {number}", { number: i + 1 }),
                  onclick: () => { URL.revokeObjectURL(photo.url); state.photos.splice(i, 1); renderPhotos(); } }))));
}

function statusLabel(status) {
  return { open: _("Open"), acknowledged: _("Acknowledged"), in_progress: _("In progress"),
           closed: _("Closed"), duplicate: _("Duplicate") }[status] || status;
}
export { statusLabel };

let nearbyAsked = 0;
async function refreshNearby() {
  const section = $("nearby");
  if (!state.service || !state.point || !navigator.onLine || !api.hasKey) {
    section.hidden = true;
    return;
  }
  const asked = ++nearbyAsked;
  let found;
  try {
    found = await api.nearby(state.service.service_code, state.point.lat, state.point.long);
  } catch {
    section.hidden = true;
    return;
  }
  if (asked !== nearbyAsked) return;  // a newer question was asked meanwhile
  const reports = found.reports.filter((r) => r.status !== "closed");
  section.hidden = reports.length === 0;
  $("nearby-list").replaceChildren(...reports.map((r) => h("li", {},
    h("p", {}, h("strong", { text: _("Report {number}", { number: r.service_request_id }) }), " · ",
      h("span", { class: "status", text: statusLabel(r.status) })),
    h("p", { class: "note", text: r.distance_m === null
      ? _("In this area. “Me too” so far: {count}.", { count: r.confirmations })
      : _("{metres} m away. “Me too” so far: {count}.", { metres: Math.round(r.distance_m), count: r.confirmations }) }),
    h("button", { type: "button", class: "primary", text: _("Me too"),
                  "aria-label": _("Me too: report {number} is my problem", { number: r.service_request_id }),
                  onclick: (e) => meToo(r, e.currentTarget) }))));
}

async function meToo(report, button) {
  button.disabled = true;
  try {
    await api.confirm(report.id, await queue.deviceId(), crypto.randomUUID());
  } catch (err) {
    button.disabled = false;
    $("form-errors").textContent = err.status === 0
      ? _("No connection: “me too” needs the internet. Try again when you are online.")
      : _("“Me too” was not accepted: {reason}", { reason: err.message });
    return;
  }
  reset();
  onDone(_("Thank you"), _("Your “me too” was added to report {number}. No new report was made.",
                           { number: report.service_request_id }));
}

function reset() {
  $("report-form").reset();
  for (const photo of state.photos) URL.revokeObjectURL(photo.url);
  Object.assign(state, { service: null, point: null, suggestion: null, photos: [] });
  renderServices();
  renderQuestions();
  renderPhotos();
  $("nearby").hidden = true;
  $("use-photo-location").hidden = true;
  $("location-text").textContent = "";
  $("location-coords").textContent = "";
  $("form-errors").replaceChildren();
}

function showErrors(errors) {
  $("form-errors").replaceChildren(
    h("p", { text: _("Please check:") }),
    h("ul", {}, errors.map(([id, message]) => h("li", {},
      h("a", { href: `#${id}`, text: message,
               onclick: (e) => { e.preventDefault(); const t = $(id); if (t) t.focus(); } })))));
  $("form-errors").focus?.();
}

async function submit(event) {
  event.preventDefault();
  const errors = [];
  if (!state.service) errors.push(["service-list", _("Choose what the problem is.")]);
  const attributes = answers(errors);
  const address = $("address").value.trim();
  if (!state.point && !address) errors.push(["use-gps", _("Say where the problem is: use your location, the map or an address.")]);
  if (errors.length) {
    showErrors(errors);
    return;
  }
  const contact = {};
  const name = $("contact-name").value.trim();
  if (name) [contact.first_name, contact.last_name] = [name.split(" ")[0], name.split(" ").slice(1).join(" ") || undefined];
  if ($("contact-email").value.trim()) contact.email = $("contact-email").value.trim();
  if ($("contact-phone").value.trim()) contact.phone = $("contact-phone").value.trim();
  const report = {
    service_code: state.service.service_code,
    description: $("description").value.trim(),
    attributes,
    observed_at: new Date().toISOString(),
  };
  if (state.point) {
    Object.assign(report, { lat: state.point.lat, long: state.point.long });
    if (state.point.accuracy) report.accuracy_m = Math.round(state.point.accuracy * 10) / 10;
  }
  if (address) report.address_string = address;
  if (Object.keys(contact).length) report.contact = contact;
  await queue.keep(report, state.photos, state.service.service_code);
  reset();
  let sent = 0;
  if (navigator.onLine) sent = await queue.flush().catch(() => 0);
  if (sent) onDone(_("Report sent"), _("Thank you. Follow it under “My reports”."));
  else onDone(_("Saved on this phone"), _("Waiting to send: it will be sent by itself when you are back online."));
}

/** Wire the screen; `done(title, text)` shows the outcome. */
export function setup(done) {
  onDone = done;
  $("report-form").addEventListener("submit", submit);
  $("use-gps").addEventListener("click", locate);
  $("use-photo-location").addEventListener("click", () => setPoint(state.suggestion, "photo"));
  $("photo-input").addEventListener("change", async (e) => {
    for (const file of e.target.files) await addPhoto(file);
    e.target.value = "";
  });
}

/** The screen is shown: open the map and ask for the position once. */
export async function opened() {
  if (state.services.length === 0) await loadServices();
  await showMap($("map"), (point) => setPoint(point, "pin"));
  if (!state.point) locate();
}

/** The language changed: redraw what was built from the services. */
export function relabel() {
  renderServices();
  renderQuestions();
  renderPhotos();
}
