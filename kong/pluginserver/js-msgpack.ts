/**
 * The plugin server's reply encoder. It writes the same bytes as the default `@msgpack/msgpack` Encoder that
 * kong-pdk 0.6.0's listener uses (kong-plugin-protocol.md §1.6), so Kong's Lua decoder sees identical values:
 * str8 for 32..255-byte strings, safe integers as the smallest int, other numbers as float64, `undefined` and
 * `null` as nil (also inside arrays and as map values), Uint8Array/Buffer as bin, Date as timestamp ext -1,
 * any other object as a map of its own enumerable keys. Functions, symbols and BigInts are refused with
 * @msgpack/msgpack's message, which the listener then sends back as the error reply.
 */
import { MsgpackWriter } from '../rpc/msgpack-writer';

function unrecognized(v: unknown): Error {
  return new Error(`Unrecognized object: ${Object.prototype.toString.call(v)}`);
}

function write(w: MsgpackWriter, v: unknown, depth: number): void {
  if (depth > 100) throw new Error('Too deep objects in depth 100');
  switch (typeof v) {
    case 'undefined':
      return w.nil();
    case 'boolean':
      return w.bool(v);
    case 'string':
      return w.str(v, true);
    case 'number':
      if (Number.isSafeInteger(v)) return w.int(v);
      return w.float64(v);
    case 'object':
      break;
    default:
      throw unrecognized(v);
  }
  if (v === null) return w.nil();
  if (Array.isArray(v)) {
    w.arrayHead(v.length);
    for (let i = 0; i < v.length; i++) write(w, v[i], depth + 1);
    return;
  }
  if (v instanceof Uint8Array) return w.bin(v);
  if (ArrayBuffer.isView(v)) return w.bin(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  if (v instanceof ArrayBuffer) return w.bin(new Uint8Array(v));
  if (v instanceof Date) return w.timestamp(v);
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  w.mapHead(keys.length);
  for (const k of keys) {
    w.str(k, true);
    write(w, o[k], depth + 1);
  }
}

let shared = new MsgpackWriter(4096);

/** Encodes one value; the result is a fresh Buffer the caller may keep. */
export function encodeJs(value: unknown): Buffer {
  const w = shared;
  w.pos = 0;
  try {
    write(w, value, 0);
  } catch (e) {
    shared = new MsgpackWriter(4096);
    throw e;
  }
  const out = Buffer.allocUnsafe(w.pos);
  w.buf.copy(out, 0, 0, w.pos);
  // Don't keep a huge scratch buffer alive after one large reply.
  if (w.buf.length > 1 << 20) shared = new MsgpackWriter(4096);
  return out;
}
