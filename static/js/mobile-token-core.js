// The Mobile Token's key and code scheme in the browser (docs/mobile-token-design.md §1.2):
// the same as tokens/mobile.py, byte for byte. An ES module: the app page, the registration
// page and the INSTAN confirm script all import it, so there is one copy of the algorithm.
//
// The device secret S lives only as a non-extractable HKDF CryptoKey in IndexedDB; the key the
// server checks, K_u, is derived from S and the Unlock Code each time and exists as plain
// bytes only once, at registration (unlockKeyBytes), to be sent to the server.

const DB_NAME = "bn-mobile-token";
const STORE = "device";
const RECORD = "current";
const STEP = 30;
const INFO_PREFIX = new TextEncoder().encode("BN-MobileToken-v1\0");
const MAGIC = new TextEncoder().encode("BNMT");
const VERSION = 1;
const DIGITS_RE = /^[0-9]{6}$/;
const LINK_RE = /^[0-9]{8}$/;

function dbOpen() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function dbRun(mode, work) {
  const db = await dbOpen();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** The phone's one record {v, device, key, registered, label}, or null. */
export async function recordGet() {
  const record = await dbRun("readonly", (store) => store.get(RECORD));
  return record || null;
}

/** Keep the record (the CryptoKey is stored as a structured clone, still non-extractable). */
export async function recordPut(record) {
  await dbRun("readwrite", (store) => store.put(record, RECORD));
}

export function b64urlDecode(s) {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function b64urlEncode(bytes) {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function uuidBytes(device) {
  const hex = String(device).replace(/-/g, "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error("bad device id");
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i += 1) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function ascii(s) {
  return new TextEncoder().encode(s);
}

function hkdfParams(device, pin) {
  if (!DIGITS_RE.test(pin)) throw new Error("an Unlock Code is 6 digits");
  return { name: "HKDF", hash: "SHA-256", salt: uuidBytes(device), info: concat(INFO_PREFIX, ascii(pin)) };
}

/** S (raw bytes, zeroed here) as a non-extractable HKDF key. */
export async function seedImport(bytes) {
  try {
    return await crypto.subtle.importKey("raw", bytes, "HKDF", false, ["deriveKey", "deriveBits"]);
  } finally {
    bytes.fill(0);
  }
}

/** K_u as bytes: at registration only, to be sent to the server once. */
export async function unlockKeyBytes(seedKey, device, pin) {
  return new Uint8Array(await crypto.subtle.deriveBits(hkdfParams(device, pin), seedKey, 256));
}

/** K_u as a non-extractable HMAC key: what makes the codes. */
export async function unlockedKey(seedKey, device, pin) {
  return crypto.subtle.deriveKey(
    hkdfParams(device, pin),
    seedKey,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign"],
  );
}

function message(t, link) {
  if (link && !LINK_RE.test(link)) throw new Error("a link is 8 digits");
  const head = new Uint8Array(MAGIC.length + 2 + 8 + 1);
  head.set(MAGIC, 0);
  head[MAGIC.length] = VERSION;
  head[MAGIC.length + 1] = link ? 2 : 1;
  const view = new DataView(head.buffer);
  view.setBigUint64(MAGIC.length + 2, BigInt(t), false);
  head[head.length - 1] = link.length;
  return concat(head, ascii(link));
}

/** The 6-digit code of step t ("" link: mode 1, 8 digits: mode 2). */
export async function codeWith(hmacKey, t, link = "") {
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", hmacKey, message(t, link)));
  const o = mac[31] & 0x0f;
  const value =
    (((mac[o] & 0x7f) << 24) | (mac[o + 1] << 16) | (mac[o + 2] << 8) | mac[o + 3]) >>> 0;
  return String(value % 1000000).padStart(6, "0");
}

export function stepNow() {
  return Math.floor(Date.now() / 1000 / STEP);
}

/** Whole seconds until the next step (1…30). */
export function secondsLeft() {
  return STEP - (Math.floor(Date.now() / 1000) % STEP);
}
