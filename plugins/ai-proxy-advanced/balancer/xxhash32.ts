/**
 * XXH32 (Yann Collet's xxHash, 32-bit variant, seed 0 by default), written from the public algorithm
 * description (https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md). Kong's consistent-hashing
 * balancer hashes with the same function (kong/runloop/balancer/consistent_hashing.lua, `luaxxhash`), and it is
 * fast and well distributed for short keys, which is all a ring needs. Not a cryptographic hash.
 *
 * Strings are hashed over their UTF-8 bytes in a reused scratch buffer, so a pick allocates nothing. ASCII
 * (nearly every header value) is copied code unit by code unit: measured about 2x faster than encodeInto,
 * and no slower than a second XXH32 reading charCodeAt directly, so there is one implementation only.
 */

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function round(acc: number, lane: number): number {
  acc = (acc + Math.imul(lane, P2)) | 0;
  acc = rotl(acc, 13);
  return Math.imul(acc, P1);
}

function readU32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) | 0;
}

/** XXH32 of `len` bytes of `bytes`, as an unsigned 32-bit integer. */
export function xxhash32Bytes(bytes: Uint8Array, len: number = bytes.length, seed = 0): number {
  let i = 0;
  let h: number;
  if (len >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    const limit = len - 16;
    while (i <= limit) {
      v1 = round(v1, readU32(bytes, i));
      v2 = round(v2, readU32(bytes, i + 4));
      v3 = round(v3, readU32(bytes, i + 8));
      v4 = round(v4, readU32(bytes, i + 12));
      i += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + len) | 0;
  while (i + 4 <= len) {
    h = (h + Math.imul(readU32(bytes, i), P3)) | 0;
    h = Math.imul(rotl(h, 17), P4);
    i += 4;
  }
  while (i < len) {
    h = (h + Math.imul(bytes[i]!, P5)) | 0;
    h = Math.imul(rotl(h, 11), P1);
    i++;
  }
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

/** XXH32 of the UTF-8 encoding of `s`, as an unsigned 32-bit integer. */
export function xxhash32(s: string, seed = 0): number {
  const n = s.length;
  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  if (n * 3 > scratch.length) scratch = new Uint8Array(n * 3);
  const buf = scratch;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) break;
    buf[i] = c;
  }
  if (i === n) return xxhash32Bytes(buf, n, seed);
  const { written } = encoder.encodeInto(s, buf);
  return xxhash32Bytes(buf, written, seed);
}
