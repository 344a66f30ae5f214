// The native API as the app uses it: the city's public web-app key on every write.
const body = document.body;
const API = body.dataset.api;
const KEY = body.dataset.key;

/** True when this server gave the page an app key. */
export const hasKey = Boolean(KEY);

/** A failed answer: `status` 0 means the network failed (offline, cut off). */
export class ApiError extends Error {
  constructor(status, message, field = null) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

async function call(method, path, { json, form, idempotencyKey, key = true } = {}) {
  const headers = { Accept: "application/json" };
  if (key && KEY) headers.Authorization = `Bearer ${KEY}`;
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  let payload;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(json);
  } else if (form) {
    payload = form;
  }
  let resp;
  try {
    resp = await fetch(API + path, { method, headers, body: payload, cache: "no-store" });
  } catch (err) {
    throw new ApiError(0, String(err));
  }
  const data = await resp.json().catch(() => null);
  if (!resp.ok) {
    const first = data && data.errors && data.errors[0];
    throw new ApiError(resp.status, (data && data.detail) || resp.statusText,
                       first ? first.field : null);
  }
  return data;
}

/** Upload one image; answers the stored photo (`id`, and `lat`/`long` from its EXIF). */
export function uploadPhoto(blob) {
  const form = new FormData();
  form.append("file", blob, "photo.jpg");
  return call("POST", "/photos", { form });
}

/** Send reports through the batch endpoint: one answer per report, in order. */
export function sendBatch(reports, idempotencyKey) {
  return call("POST", "/reports/batch", { json: { reports }, idempotencyKey });
}

/** Open reports of `service` near a point (the server applies its privacy rules). */
export function nearby(service, lat, long) {
  const q = new URLSearchParams({ service_code: service, lat, long });
  return call("GET", `/reports/nearby?${q}`);
}

/** "Me too" on report `id`. */
export function confirm(id, deviceId, idempotencyKey) {
  return call("POST", `/reports/${encodeURIComponent(id)}/confirmations`,
              { json: { device_id: deviceId }, idempotencyKey });
}

/** A report as its reporter sees it, with the tracking token. */
export function track(id, token) {
  return call("GET", `/reports/${encodeURIComponent(id)}?token=${encodeURIComponent(token)}`,
              { key: false });
}
