// The app's words: English in the code, other languages from /app/i18n/<lang>.json
// (built from gettext catalogs). `_()` marks a string for extraction by Babel.
const STORE = "civicpulse.lang";
const body = document.body;
const spoken = (body.dataset.languages || "en").split(" ");
let words = {};
let current = "en";

/** The translation of `text` in the current language, `{name}` filled from `values`. */
export function _(text, values = {}) {
  const out = words[text] || text;
  return out.replace(/\{(\w+)\}/g, (all, name) => (name in values ? String(values[name]) : all));
}

/** The language in use ("en", "es", …). */
export function language() {
  return current;
}

/** The language chosen earlier on this phone, else the browser's first one spoken here. */
export function preferred() {
  const saved = localStorage.getItem(STORE);
  if (saved && spoken.includes(saved)) return saved;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = tag.toLowerCase().split("-")[0];
    if (spoken.includes(base)) return base;
  }
  return "en";
}

/** Load `lang`'s words (the service worker keeps them for offline use), then translate the page. */
export async function use(lang, remember = false) {
  if (!spoken.includes(lang)) lang = "en";
  let loaded = {};
  if (lang !== "en") {
    const resp = await fetch(body.dataset.words.replace("LANG", lang));
    if (!resp.ok) throw new Error(`words for ${lang}: ${resp.status}`);
    loaded = await resp.json();
  }
  words = loaded;
  current = lang;
  if (remember) localStorage.setItem(STORE, lang);
  document.documentElement.lang = lang;
  translate(document);
}

/** Translate every `data-i18n` element under `root` (its English text is kept as the key). */
export function translate(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    if (!el.dataset.i18nSource) el.dataset.i18nSource = el.textContent.trim().replace(/\s+/g, " ");
    el.textContent = _(el.dataset.i18nSource);
  }
  document.title = `CivicPulse · ${_("Report a problem")}`;
}

/** A date and time as the reader's language writes it. */
export function when(iso) {
  try {
    return new Intl.DateTimeFormat(current, { dateStyle: "medium", timeStyle: "short" })
      .format(new Date(iso));
  } catch {
    return iso;
  }
}
