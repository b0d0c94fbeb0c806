// The resident's rotating key, made on the phone (see panel/access/credential.py):
// every 30 s "EP1:" + base45(COSE_Sign1 signed with the phone's own Ed25519 key,
// payload {-65540: step, -65541: device credential}). The phone's private key is
// created here with WebCrypto, is not extractable, and never leaves the browser.
"use strict";

const STEP_SECONDS = 30;
const STEP = -65540, CRED = -65541;
const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

// -- the little CBOR the format needs, encoded exactly as cbor2 (shortest forms) --------
function cborHead(major, n) {
  if (n < 24) return [major << 5 | n];
  if (n < 0x100) return [major << 5 | 24, n];
  if (n < 0x10000) return [major << 5 | 25, n >> 8, n & 255];
  return [major << 5 | 26, (n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function cbor(value) {
  if (typeof value === "number") return value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value);
  if (value instanceof Uint8Array) return [...cborHead(2, value.length), ...value];
  if (typeof value === "string") { const b = new TextEncoder().encode(value); return [...cborHead(3, b.length), ...b]; }
  if (Array.isArray(value)) return [...cborHead(4, value.length), ...value.flatMap(cbor)];
  if (value instanceof Map) {
    return [...cborHead(5, value.size), ...[...value].flatMap(([k, v]) => [...cbor(k), ...cbor(v)])];
  }
  throw new Error("cannot encode " + value);
}

function base45(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 2) {
    if (i + 1 < bytes.length) {
      let n = bytes[i] * 256 + bytes[i + 1];
      out += B45[n % 45] + B45[Math.floor(n / 45) % 45] + B45[Math.floor(n / 2025)];
    } else {
      out += B45[bytes[i] % 45] + B45[Math.floor(bytes[i] / 45)];
    }
  }
  return out;
}

function unbase45(text) {
  const out = [];
  for (let i = 0; i < text.length; i += 3) {
    const c = [...text.slice(i, i + 3)].map((ch) => B45.indexOf(ch));
    const n = c[0] + c[1] * 45 + (c.length === 3 ? c[2] * 2025 : 0);
    if (c.length === 3) out.push(n >> 8, n & 255); else out.push(n);
  }
  return new Uint8Array(out);
}

function b64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// -- the phone's key and its device credential --------------------------------------------
async function deviceKey(resident, token) {
  // Kept for this tab's life; a real app keeps it in the platform keystore.
  const keys = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey));
  const r = await fetch(`/api/resident/device-credential?resident=${encodeURIComponent(resident)}` +
                        `&token=${encodeURIComponent(token)}`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ public_key: b64url(raw) }),
  });
  const data = await r.json();
  if (!r.ok) throw new Error(data.error);
  return { privateKey: keys.privateKey, credential: unbase45(data.credential.slice(4)) };
}

// The code for this moment: valid for this 30 s step, once.
async function rotatingCode(key, nowSeconds) {
  const step = Math.floor(nowSeconds / STEP_SECONDS);
  const protectedHeader = new Uint8Array(cbor(new Map([[1, -8]])));            // alg: EdDSA
  const payload = new Uint8Array(cbor(new Map([[STEP, step], [CRED, key.credential]])));
  const toSign = new Uint8Array(cbor(["Signature1", protectedHeader, new Uint8Array(0), payload]));
  const signature = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key.privateKey, toSign));
  const sign1 = [0xd2, ...cbor([protectedHeader, new Map(), payload, signature])];   // tag 18
  return "EP1:" + base45(new Uint8Array(sign1));
}

window.rotatingKey = { deviceKey, rotatingCode, STEP_SECONDS };
