// Photos on the phone: downscaled before upload (a resident's data plan pays for
// every byte), and the position the camera wrote in the EXIF offered as a suggestion.
const LONGEST = 2048;
const QUALITY = 0.85;

/** A JPEG of `file` whose longest side is at most 2048 px (EXIF orientation applied). */
export async function downscale(file) {
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  const scale = Math.min(1, LONGEST / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("no JPEG"))),
                  "image/jpeg", QUALITY);
  });
}

/** `{lat, long}` from a JPEG's EXIF GPS block, or null (the canvas copy has no EXIF). */
export async function exifPosition(file) {
  const view = new DataView(await file.slice(0, 256 * 1024).arrayBuffer());
  if (view.byteLength < 4 || view.getUint16(0) !== 0xffd8) return null;
  let at = 2;
  while (at + 4 <= view.byteLength) {
    const marker = view.getUint16(at);
    const size = view.getUint16(at + 2);
    if (marker === 0xffe1 && view.getUint32(at + 4) === 0x45786966) return tiff(view, at + 10);
    if ((marker & 0xff00) !== 0xff00 || marker === 0xffda) return null;
    at += 2 + size;
  }
  return null;
}

function tiff(view, start) {
  const little = view.getUint16(start) === 0x4949;
  const u16 = (o) => view.getUint16(start + o, little);
  const u32 = (o) => view.getUint32(start + o, little);
  const entries = (ifd) => {
    const out = new Map();
    const count = u16(ifd);
    for (let i = 0; i < count; i += 1) {
      const e = ifd + 2 + i * 12;
      out.set(u16(e), e);
    }
    return out;
  };
  const root = entries(u32(4));
  if (!root.has(0x8825)) return null;
  const gps = entries(u32(root.get(0x8825) + 8));
  const ref = (tag) => (gps.has(tag) ? String.fromCharCode(view.getUint8(start + gps.get(tag) + 8)) : "");
  const dms = (tag) => {
    if (!gps.has(tag)) return null;
    const off = u32(gps.get(tag) + 8);
    let value = 0;
    for (let i = 0; i < 3; i += 1) {
      const den = u32(off + i * 8 + 4);
      if (!den) return null;
      value += u32(off + i * 8) / den / 60 ** i;
    }
    return value;
  };
  const lat = dms(2);
  const long = dms(4);
  if (lat === null || long === null || lat > 90 || long > 180) return null;
  if (lat === 0 && long === 0) return null;
  return { lat: ref(1) === "S" ? -lat : lat, long: ref(3) === "W" ? -long : long };
}
