// Talking to the CivicPulse API from the page: the key, authorised fetches, errors.

const KEY_STORAGE = "civicpulse.apiKey";
const ROOT = document.body.dataset.root || "";

/** The API key of this tab (sessionStorage: gone when the tab closes, never sent to other sites). */
export function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}

/** Remember the key for this tab. */
export function setApiKey(key) {
  sessionStorage.setItem(KEY_STORAGE, key.trim());
}

/** Forget the key. */
export function forgetApiKey() {
  sessionStorage.removeItem(KEY_STORAGE);
}

/** An absolute URL on this app (the app may live under a path prefix). */
export function appUrl(path) {
  return new URL(ROOT + path, window.location.origin).href;
}

/** True for URLs of this app's origin: the only ones that may carry the key. */
export function isOwnUrl(url) {
  return new URL(url, window.location.href).origin === window.location.origin;
}

/** The page's CSRF token: writes made with the sign-in session must carry it. */
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

/** Headers with the bearer key (when there is one); else the session cookie goes along. */
export function authHeaders(extra = {}) {
  const key = apiKey();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : { ...extra };
}

/** End the sign-in session (a POST with the CSRF token), then go to the sign-in page. */
export async function signOut() {
  await fetch(appUrl("/logout"), { method: "POST", headers: { "X-CSRFToken": csrfToken() } });
  window.location.assign(appUrl("/login"));
}

/** An error from the API, carrying the HTTP status and the problem's detail. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

/** GET or POST JSON on this app with the key; resolves to the parsed body, rejects with ApiError. */
export async function requestJSON(path, { method = "GET", body, headers = {} } = {}) {
  const init = { method, headers: authHeaders({ Accept: "application/json", ...headers }) };
  if (method !== "GET" && !apiKey()) init.headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const resp = await fetch(appUrl(path), init);
  const text = await resp.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!resp.ok) {
    // problem+json (/api/v1), OGC and Open311 error shapes all carry a human sentence.
    const detail = (parsed && (parsed.detail || parsed.description || parsed.title))
      || `HTTP ${resp.status}`;
    throw new ApiError(resp.status, detail);
  }
  return parsed;
}

/** A fresh Idempotency-Key (UUID v4). */
export function newIdempotencyKey() {
  // crypto.randomUUID exists only in secure contexts, and a city intranet may serve
  // this page over plain http; getRandomValues works everywhere.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
