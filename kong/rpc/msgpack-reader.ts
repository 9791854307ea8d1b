/**
 * A direct decoder for one complete msgpack value, producing exactly what msgpack-lite's default decoder
 * produces (nil -> null, str -> utf-8 string via Buffer#toString or, for short ASCII, a cached copy of it,
 * bin -> a copied Buffer, map -> plain object assigned key by key, float32/64 as numbers), for the types Kong and
 * the plugin server actually send.
 * msgpack-lite's stream decoder costs about 15 µs of the plugin server's CPU per proxied request (a
 * FlexDecoder with try/catch per token, BUFFER_SHORTAGE exceptions, a reserve() call per read); this walks the
 * bytes once. Anything unusual — 64-bit integers (msgpack-lite's int64-buffer conversion), ext types, the
 * invalid byte 0xc1 — throws `DELEGATE` and the caller hands the message to msgpack-lite itself, so
 * those cases keep msgpack-lite's exact results and error texts.
 * The caller guarantees the value is complete (msgpack-frame.ts `msgpackValueEnd`).
 */

export const DELEGATE = new Error('msgpack value needs msgpack-lite');

let buf: Buffer;
let pos = 0;

/**
 * Short ASCII strings recently decoded, by a hash of their bytes (direct-mapped: a collision replaces the entry, so
 * it holds at most SHORT_SLOTS strings whatever the peer sends). Most strings on this socket repeat on every
 * request (map keys such as EventId and Data, method names, header names and many header values): a hit costs a
 * hash and a byte comparison instead of a Buffer#toString call into C++ and a new string, and hands back the same
 * string each time, which V8 has already internalized when it is used as a property key.
 */
const SHORT_MAX = 24;
const SHORT_SLOTS = 1024;
const shortStrings: (string | undefined)[] = new Array<string | undefined>(SHORT_SLOTS).fill(undefined);

function str(len: number): string {
  const start = pos;
  pos += len;
  if (len === 0) return '';
  if (len > SHORT_MAX) return buf.toString('utf8', start, pos);
  let h = len;
  for (let i = start; i < pos; i++) {
    const b = buf[i]!;
    if (b > 0x7f) return buf.toString('utf8', start, pos);
    h = Math.imul(h ^ b, 0x01000193);
  }
  const slot = (h ^ (h >>> 15)) & (SHORT_SLOTS - 1);
  const hit = shortStrings[slot];
  if (hit !== undefined && hit.length === len) {
    let i = 0;
    while (i < len && hit.charCodeAt(i) === buf[start + i]) i++;
    if (i === len) return hit;
  }
  const s = buf.toString('latin1', start, pos);
  shortStrings[slot] = s;
  return s;
}

function bin(len: number): Buffer {
  const start = pos;
  pos += len;
  // msgpack-lite returns Buffer.from(slice): a copy that does not pin the socket's read buffer.
  return Buffer.from(buf.subarray(start, pos));
}

function array(len: number): unknown[] {
  const out = new Array<unknown>(len);
  for (let i = 0; i < len; i++) out[i] = value();
  return out;
}

function map(len: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < len; i++) {
    const k = value();
    const v = value();
    // A map key comes from the peer (request header names, query arguments, body fields): `__proto__` must
    // become an own property, never the object's prototype (msgpack-lite's plain assignment would swap it).
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    else out[k as string] = v;
  }
  return out;
}

function u16(): number {
  const v = (buf[pos]! << 8) | buf[pos + 1]!;
  pos += 2;
  return v;
}

function u32(): number {
  const v = buf[pos]! * 16777216 + ((buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!);
  pos += 4;
  return v;
}

function value(): unknown {
  const b = buf[pos++]!;
  if (b <= 0x7f) return b;
  if (b <= 0x8f) return map(b & 0x0f);
  if (b <= 0x9f) return array(b & 0x0f);
  if (b <= 0xbf) return str(b & 0x1f);
  if (b >= 0xe0) return b - 0x100;
  switch (b) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return bin(buf[pos++]!);
    case 0xc5:
      return bin(u16());
    case 0xc6:
      return bin(u32());
    case 0xca: {
      const v = buf.readFloatBE(pos);
      pos += 4;
      return v;
    }
    case 0xcb: {
      const v = buf.readDoubleBE(pos);
      pos += 8;
      return v;
    }
    case 0xcc:
      return buf[pos++]!;
    case 0xcd:
      return u16();
    case 0xce:
      return u32();
    case 0xd0: {
      const v = buf[pos++]!;
      return v & 0x80 ? v - 0x100 : v;
    }
    case 0xd1: {
      const v = u16();
      return v & 0x8000 ? v - 0x10000 : v;
    }
    case 0xd2: {
      const v = (buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!;
      pos += 4;
      return v;
    }
    case 0xd9:
      return str(buf[pos++]!);
    case 0xda:
      return str(u16());
    case 0xdb:
      return str(u32());
    case 0xdc:
      return array(u16());
    case 0xdd:
      return array(u32());
    case 0xde:
      return map(u16());
    case 0xdf:
      return map(u32());
    default:
      // 0xc1, ext 0xc7-0xc9 / 0xd4-0xd8, uint64 0xcf, int64 0xd3.
      throw DELEGATE;
  }
}

/** Decodes the complete value at `start` (ending at `end`); throws DELEGATE for types left to msgpack-lite. */
export function readMsgpackValue(b: Buffer, start: number, end: number): unknown {
  buf = b;
  pos = start;
  try {
    const v = value();
    if (pos !== end) throw DELEGATE;
    return v;
  } finally {
    buf = EMPTY;
  }
}

const EMPTY = Buffer.alloc(0);
