// The residents' app: screens by URL hash, an offline queue, the service worker.
import * as api from "./api.js";
import { _, preferred, translate, use } from "./i18n.js";
import * as mine from "./mine.js";
import * as queue from "./queue.js";
import * as report from "./report.js";
import { show } from "./ui.js";

const $ = (id) => document.getElementById(id);
const RETRY_MS = 30_000;
const SCREENS = ["home", "report", "done", "mine"];

function done(title, text) {
  $("done-title").textContent = title;
  $("done-text").textContent = text;
  location.hash = "#done";
}

async function route(focus = true) {
  let name = location.hash.replace("#", "") || "home";
  if (!SCREENS.includes(name)) name = "home";
  if (name === "done" && !$("done-title").textContent) name = "home";
  if (name !== "done") {  // an outcome is shown once, not again on a later visit
    $("done-title").textContent = "";
    $("done-text").textContent = "";
  }
  show(name, focus);
  if (name === "report") await report.opened();
  if (name === "mine") {
    await mine.render();
    await mine.refresh();
  }
}

async function network() {
  const waiting = (await queue.waiting()).filter((i) => !i.error).length;
  const net = $("net");
  net.classList.toggle("offline", !navigator.onLine);
  if (!navigator.onLine) {
    net.textContent = waiting
      ? _("Offline. Reports waiting to send: {count}.", { count: waiting })
      : _("Offline. You can still make reports; they are sent when you are back online.");
  } else {
    net.textContent = waiting ? _("Reports waiting to send: {count}.", { count: waiting }) : "";
  }
}

let failures = 0;
let retry = null;

async function send() {
  if (!navigator.onLine || !api.hasKey) return;
  clearTimeout(retry);
  try {
    await queue.flush();
    failures = 0;
  } catch {
    // Cut off or refused: the same batch goes again soon (2 s, 4 s, … up to 30 s).
    failures += 1;
    retry = setTimeout(send, Math.min(RETRY_MS, 1000 * 2 ** failures));
  }
  await network();
}

async function start() {
  await use(preferred()).catch(() => use("en"));
  const lang = $("lang");
  lang.value = document.documentElement.lang;
  lang.addEventListener("change", async () => {
    await use(lang.value, true);
    report.relabel();
    await network();
    if (location.hash === "#mine") await mine.render();
  });
  $("no-key").hidden = api.hasKey;
  report.setup(done);
  queue.onChange(async () => {
    await network();
    if (location.hash === "#mine") await mine.render();
  });
  window.addEventListener("hashchange", () => route());
  // Safari has no Background Sync: retry on opening, on reconnecting and on a timer.
  window.addEventListener("online", () => { network(); send(); });
  window.addEventListener("offline", network);
  setInterval(send, RETRY_MS);
  await report.loadServices();
  await route(false);
  await network();
  translate(document);
  document.body.dataset.ready = "yes";
  send();
  if ("serviceWorker" in navigator) {
    const { sw, scope } = document.body.dataset;
    navigator.serviceWorker.register(sw, { scope, type: "classic" }).catch(() => {});
  }
}

start();
