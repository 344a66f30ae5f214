// The phone's own store (IndexedDB through idb): reports waiting to be sent, the
// reports sent with their tracking tokens, and this phone's device id.
//
// Exactly once: every report has a client_id from the moment it is made. Waiting
// reports go out in one batch whose Idempotency-Key is stored with the list of
// client_ids *before* the request, so a send cut off mid-way is retried with the
// same key and the same body, and the server answers with what it stored the
// first time instead of filing the reports again.
import { openDB } from "./vendor/idb/idb.mjs";
import { ApiError, sendBatch, uploadPhoto } from "./api.js";

const dbPromise = openDB("civicpulse", 1, {
  upgrade(db) {
    db.createObjectStore("outbox", { keyPath: "client_id" });
    db.createObjectStore("mine", { keyPath: "id" });
    db.createObjectStore("meta", { keyPath: "name" });
  },
});
const listeners = new Set();

/** Call `fn` whenever the stored reports change. */
export function onChange(fn) {
  listeners.add(fn);
}

function changed() {
  for (const fn of listeners) fn();
}

/** This phone's device id (random, made once): the server keeps only a keyed hash. */
export async function deviceId() {
  const db = await dbPromise;
  const found = await db.get("meta", "device");
  if (found) return found.value;
  const value = crypto.randomUUID();
  await db.put("meta", { name: "device", value });
  return value;
}

/** Keep a new report (photos as blobs) until it is sent; answers its client_id. */
export async function keep(report, photos, label) {
  const item = {
    client_id: crypto.randomUUID(),
    created: new Date().toISOString(),
    report: { ...report, device_id: await deviceId() },
    photos: photos.map((p) => ({ blob: p.blob, id: p.id || null })),
    label,
    error: null,
  };
  item.report.client_id = item.client_id;
  const db = await dbPromise;
  await db.put("outbox", item);
  changed();
  return item.client_id;
}

/** Reports waiting to be sent, oldest first. */
export async function waiting() {
  const db = await dbPromise;
  const items = await db.getAll("outbox");
  return items.sort((a, b) => a.created.localeCompare(b.created));
}

/** Reports sent from this phone, newest first. */
export async function mine() {
  const db = await dbPromise;
  const items = await db.getAll("mine");
  return items.sort((a, b) => b.created.localeCompare(a.created));
}

/** Store what the server says of a sent report now (status, notes). */
export async function update(id, fields) {
  const db = await dbPromise;
  const item = await db.get("mine", id);
  if (!item) return;
  await db.put("mine", { ...item, ...fields });
  changed();
}

/** Forget a sent report and its tracking token, or drop a waiting one. */
export async function forget(id) {
  const db = await dbPromise;
  await db.delete("mine", id);
  await db.delete("outbox", id);
  const batch = await db.get("meta", "batch");
  if (batch && batch.ids.includes(id)) await db.delete("meta", "batch");
  changed();
}

async function uploadPhotos(db, item) {
  for (const photo of item.photos) {
    if (photo.id) continue;
    const stored = await uploadPhoto(photo.blob);
    photo.id = stored.id;
    await db.put("outbox", item);  // a retry must not upload it again
  }
  return { ...item.report, photos: item.photos.map((p) => p.id) };
}

async function currentBatch(db, items) {
  const batch = await db.get("meta", "batch");
  const present = new Set(items.map((i) => i.client_id));
  if (batch && batch.ids.every((id) => present.has(id))) return batch;
  const fresh = { name: "batch", key: crypto.randomUUID(),
                  ids: items.filter((i) => !i.error).map((i) => i.client_id) };
  await db.put("meta", fresh);
  return fresh;
}

async function sendOnce() {
  const db = await dbPromise;
  const items = await waiting();
  if (!items.length) return 0;
  const batch = await currentBatch(db, items);
  if (!batch.ids.length) return 0;
  const byId = new Map(items.map((i) => [i.client_id, i]));
  const reports = [];
  for (const id of batch.ids) reports.push(await uploadPhotos(db, byId.get(id)));
  let answer;
  try {
    answer = await sendBatch(reports, batch.key);
  } catch (err) {
    // 422: this key was used with another body (cannot happen unless the store was
    // edited); 409: the first send is still in flight. Both retry later, the first
    // with a new key: the server still files each client_id once.
    if (err instanceof ApiError && err.status === 422) await db.delete("meta", "batch");
    throw err;
  }
  const tx = db.transaction(["outbox", "mine", "meta"], "readwrite");
  answer.results.forEach((result, i) => {
    const item = byId.get(batch.ids[i]);
    if (result.report) {
      tx.objectStore("mine").put({
        id: result.report.id,
        service_request_id: result.report.service_request_id,
        token: result.report.token || null,
        status: result.report.status,
        status_notes: null,
        service_code: item.report.service_code,
        label: item.label,
        description: item.report.description || "",
        created: item.created,
        updated: null,
      });
      tx.objectStore("outbox").delete(item.client_id);
    } else {
      tx.objectStore("outbox").put({ ...item, error: result.error.message });
    }
  });
  tx.objectStore("meta").delete("batch");
  await tx.done;
  changed();
  return batch.ids.length;
}

let running = null;

/** Send whatever waits, once at a time across this phone's tabs; answers how many went. */
export function flush() {
  if (running) return running;
  const work = async () => {
    let sent = 0;
    for (let round = 0; round < 10; round += 1) {  // reports made while one batch was out
      const n = await sendOnce();
      if (!n) break;
      sent += n;
    }
    return sent;
  };
  running = (navigator.locks ? navigator.locks.request("civicpulse-outbox", work) : work())
    .finally(() => { running = null; });
  return running;
}
