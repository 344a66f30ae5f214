// "My reports": what waits on this phone, and what was sent, with its status.
import * as api from "./api.js";
import { _, when } from "./i18n.js";
import * as queue from "./queue.js";
import { serviceByCode, statusLabel, translated } from "./report.js";
import { h } from "./ui.js";

const $ = (id) => document.getElementById(id);

function serviceName(code) {
  const service = serviceByCode(code);
  return service ? translated(service).name : code;
}

function waitingItem(item) {
  return h("li", { "data-client-id": item.client_id },
    h("p", {}, h("strong", { text: serviceName(item.report.service_code) }), " · ",
      item.error
        ? h("span", { class: "status", text: _("Not accepted: {reason}", { reason: item.error }) })
        : h("span", { class: "status waiting", text: _("Waiting to send") })),
    h("p", { class: "meta", text: _("Made {date}", { date: when(item.created) }) }),
    item.report.description ? h("p", { text: item.report.description }) : null,
    h("button", { type: "button", class: "small danger", text: _("Delete"),
                  "aria-label": _("Delete this report before it is sent"),
                  onclick: () => queue.forget(item.client_id) }));
}

function sentItem(item) {
  return h("li", { "data-report-id": item.id },
    h("p", {}, h("strong", { text: serviceName(item.service_code) }), " · ",
      h("span", { class: `status ${item.status}`, "data-field": "status", text: statusLabel(item.status) })),
    h("p", { class: "meta", text: _("Report {number}, sent {date}", { number: item.service_request_id, date: when(item.created) }) }),
    item.status_notes ? h("p", { "data-field": "status_notes", text: _("City's note: {note}", { note: item.status_notes }) }) : null,
    item.updated ? h("p", { class: "meta", text: _("Updated {date}", { date: when(item.updated) }) }) : null,
    item.description ? h("p", { text: item.description }) : null,
    h("button", { type: "button", class: "small danger", text: _("Remove from this phone"),
                  "aria-label": _("Remove report {number} from this phone", { number: item.service_request_id }),
                  onclick: () => queue.forget(item.id) }));
}

/** Draw the list from the phone's store. */
export async function render() {
  const [waiting, sent] = await Promise.all([queue.waiting(), queue.mine()]);
  $("mine-list").replaceChildren(...waiting.map(waitingItem), ...sent.map(sentItem));
  $("mine-empty").hidden = waiting.length + sent.length > 0;
}

/** Ask the city for each sent report's status (with its token), then redraw. */
export async function refresh() {
  if (!navigator.onLine) return;
  for (const item of await queue.mine()) {
    if (!item.token) continue;
    try {
      const now = await api.track(item.id, item.token);
      await queue.update(item.id, { status: now.status, status_notes: now.status_notes,
                                    updated: now.updated_datetime });
    } catch (err) {
      if (err.status === 0) return;  // offline again: keep what we have
    }
  }
}
