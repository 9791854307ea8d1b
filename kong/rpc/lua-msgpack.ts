/**
 * MessagePack the way Kong's side of the plugin-server socket writes it: lua-MessagePack 0.5.x with its defaults
 * (`string_compat`, `without_hole`, `double`), patched in kong/runloop/plugin_servers/rpc/mp_rpc.lua so that
 * cjson.null packs as nil and functions pack themselves (mp_empty_array, mp_empty_map, fix_raw).
 *
 * JS stands in for Lua values like this (kong-plugin-protocol.md §2.8, §6.4):
 * - `undefined` / `null`        -> Lua nil: a nil at the top level or in a sequence, a dropped key in a map;
 * - `LUA_NULL`                  -> cjson.null / ngx.null: packs as nil even as a map value;
 * - string                      -> str (fixstr, str16, str32: never str8, which `string_compat` predates);
 * - Buffer / Uint8Array         -> bin (what `fix_raw` produces for raw bodies);
 * - integral number             -> the smallest (u)int; any other number -> float64;
 * - array                       -> array; trailing nils vanish (a Lua table cannot hold them) and an interior
 *                                  nil makes it a map keyed 1..n, as `without_hole` does with a holed table;
 * - object                      -> map of its non-nil entries; an object with none is an empty Lua table,
 *                                  which lua-MessagePack writes as the empty array 0x90;
 * - `EMPTY_MAP` / `EMPTY_ARRAY` -> Kong's mp_empty_map (0x80) / mp_empty_array (0x90) markers.
 * Decoding is msgpack-lite's: str -> string, bin -> Buffer, nil -> null, maps -> plain objects.
 */
import msgpack from 'msgpack-lite';
import { msgpackScan, newScan, type ScanState } from './msgpack-frame';
import { DELEGATE, readMsgpackValue } from './msgpack-reader';
import { MsgpackWriter as Writer } from './msgpack-writer';

/** cjson.null / ngx.null: a value that is nil on the wire but still occupies its map key on the Lua side. */
export const LUA_NULL: unique symbol = Symbol('cjson.null');
/** Kong's mp_empty_map: an empty table that must reach the plugin as `{}` (fix_mmap on empty multimaps). */
export const EMPTY_MAP: unique symbol = Symbol('mp_empty_map');
/** Kong's mp_empty_array. A plain `[]` or `{}` encodes the same way; this exists for symmetry with EMPTY_MAP. */
export const EMPTY_ARRAY: unique symbol = Symbol('mp_empty_array');

export class LuaEncodeError extends Error {
  override name = 'LuaEncodeError';
}

const isNil = (v: unknown): boolean => v === undefined || v === null;

function writeValue(w: Writer, v: unknown, depth: number): void {
  if (depth > 64) throw new LuaEncodeError('value nested more than 64 levels deep (cyclic?)');
  switch (typeof v) {
    case 'undefined':
      return w.nil();
    case 'boolean':
      return w.bool(v);
    case 'string':
      return w.str(v, false);
    case 'number':
      // LuaJIT: integral numbers in range pack as integers (-0 as 0), everything else as double.
      if (Number.isInteger(v) && Math.abs(v) < 2 ** 63) return w.int(v === 0 ? 0 : v);
      return w.float64(v);
    case 'bigint':
      try {
        return w.int(v);
      } catch (e) {
        throw new LuaEncodeError((e as Error).message);
      }
    case 'symbol':
      if (v === LUA_NULL) return w.nil();
      if (v === EMPTY_MAP) return w.mapHead(0);
      if (v === EMPTY_ARRAY) return w.arrayHead(0);
      throw new LuaEncodeError(`cannot pack ${String(v)} for Lua`);
    case 'function':
      throw new LuaEncodeError(`cannot pack a function for Lua`);
    case 'object':
      break;
  }
  if (v === null) return w.nil();
  if (v instanceof Uint8Array) return w.bin(v);
  if (Array.isArray(v)) return writeArray(w, v, depth);
  if (v instanceof Map) return writeEntries(w, [...v.entries()], depth);
  return writeObject(w, v as Record<string, unknown>, depth);
}

/** writeEntries for a plain object, without the pair arrays Object.entries and the nil filter would allocate. */
function writeObject(w: Writer, o: Record<string, unknown>, depth: number): void {
  const keys = Object.keys(o);
  let n = 0;
  for (let i = 0; i < keys.length; i++) if (!isNil(o[keys[i]!])) n++;
  if (n === 0) return w.arrayHead(0);
  w.mapHead(n);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const val = o[key];
    if (isNil(val)) continue;
    w.str(key, false);
    writeValue(w, val, depth + 1);
  }
}

function writeArray(w: Writer, a: readonly unknown[], depth: number): void {
  let n = a.length;
  while (n > 0 && isNil(a[n - 1])) n--;
  let holed = false;
  for (let i = 0; i < n; i++) {
    if (isNil(a[i])) {
      holed = true;
      break;
    }
  }
  if (!holed) {
    w.arrayHead(n);
    for (let i = 0; i < n; i++) writeValue(w, a[i], depth + 1);
    return;
  }
  // lua-MessagePack `without_hole`: a table whose integer keys have gaps is a map keyed by those integers.
  const entries: [unknown, unknown][] = [];
  for (let i = 0; i < n; i++) if (!isNil(a[i])) entries.push([i + 1, a[i]]);
  writeEntries(w, entries, depth);
}

function writeEntries(w: Writer, all: [unknown, unknown][], depth: number): void {
  const entries = all.filter(([, val]) => !isNil(val));
  if (entries.length === 0) return w.arrayHead(0);
  w.mapHead(entries.length);
  for (const [key, val] of entries) {
    writeValue(w, key, depth + 1);
    writeValue(w, val, depth + 1);
  }
}

/** Encodes one value exactly as Kong's patched lua-MessagePack would pack the equivalent Lua value. */
export function encodeLua(value: unknown): Buffer {
  const w = new Writer(256);
  writeValue(w, value, 0);
  return w.bytes();
}

/** Decodes one complete message (tests and dumps; sockets use a stream decoder). */
export function decodeMsgpack(buf: Buffer): unknown {
  return msgpack.decode(buf);
}

/** Work counters of a stream decoder: both stay linear in the bytes received, however they are split. */
export interface StreamDecoderStats {
  /** msgpack tokens scanned (each token once). */
  tokens: number;
  /** Bytes copied into the pending-message buffer (amortised: capacity doubles). */
  copied: number;
}

/**
 * Incremental decoder for a bare msgpack stream (no length prefix): feed it every chunk read from the socket;
 * it calls `onMessage` once for each complete message, in order, keeping a split message's head until its
 * tail arrives. An incomplete message is kept in one buffer whose capacity doubles (each byte is copied a
 * bounded number of times) and its scan resumes where the previous read left it (msgpack-frame.ts
 * `msgpackScan`), so a 16 MB message in 4 KB reads costs work linear in its size, not quadratic. Each complete
 * message is decoded by msgpack-reader.ts, which gives msgpack-lite's results for the types Kong sends and
 * hands anything else (64-bit integers, ext, invalid bytes) to msgpack-lite itself. An undecodable message
 * throws from `push` with msgpack-lite's error text, after the messages before it were delivered.
 */
export function createStreamDecoder(
  onMessage: (msg: unknown) => void,
  stats: StreamDecoderStats = { tokens: 0, copied: 0 },
): { push(chunk: Buffer): void } {
  /** The incomplete message's bytes: pending[0, pendingLen). */
  let pending: Buffer | undefined;
  let pendingLen = 0;
  let scan: ScanState = newScan(0);
  /** Length the pending message must reach before scanning can go on. */
  let wanted = 0;

  const decodeOne = (buf: Buffer, pos: number, end: number): void => {
    let msg: unknown;
    if (end === 0) {
      // An invalid byte: let msgpack-lite raise its own error for it.
      msgpack.decode(buf.subarray(pos));
      throw new Error(`Invalid type: 0x${buf[pos]!.toString(16)}`);
    }
    try {
      msg = readMsgpackValue(buf, pos, end);
    } catch (e) {
      if (e !== DELEGATE) throw e;
      msg = msgpack.decode(buf.subarray(pos, end));
    }
    onMessage(msg);
  };

  /** Scans the chunk's messages from `pos`; keeps an incomplete tail as the pending message. */
  const walk = (buf: Buffer, from: number): void => {
    let pos = from;
    while (pos < buf.length) {
      const st = newScan(pos);
      const before = st.tokens;
      const end = msgpackScan(buf, buf.length, st);
      stats.tokens += st.tokens - before;
      if (end < 0) {
        const rest = buf.subarray(pos);
        pending = Buffer.allocUnsafe(Math.max(4096, rest.length * 2));
        rest.copy(pending);
        stats.copied += rest.length;
        pendingLen = rest.length;
        scan = { pos: st.pos - pos, remaining: st.remaining, tokens: 0 };
        wanted = -end - pos;
        return;
      }
      decodeOne(buf, pos, end);
      pos = end;
    }
  };

  return {
    push: (chunk: Buffer) => {
      if (pending === undefined) {
        walk(chunk, 0);
        return;
      }
      if (pendingLen + chunk.length > pending.length) {
        const grown = Buffer.allocUnsafe(Math.max(pending.length * 2, pendingLen + chunk.length));
        pending.copy(grown, 0, 0, pendingLen);
        stats.copied += pendingLen;
        pending = grown;
      }
      chunk.copy(pending, pendingLen);
      stats.copied += chunk.length;
      pendingLen += chunk.length;
      if (pendingLen < wanted) return;
      const st = scan;
      const before = st.tokens;
      const end = msgpackScan(pending, pendingLen, st);
      stats.tokens += st.tokens - before;
      if (end < 0) {
        wanted = -end;
        return;
      }
      const buf = pending;
      const len = pendingLen;
      pending = undefined;
      pendingLen = 0;
      wanted = 0;
      // The message is decoded from the pending buffer itself; what follows it in the same read is walked on.
      decodeOne(buf.subarray(0, len), 0, end);
      if (end < len) walk(buf.subarray(end, len), 0);
    },
  };
}

/**
 * Rejects PDK arguments that Kong's `method(unpack(args))` would scramble: LuaJIT's `#` on a table with an
 * interior nil is irregular, so `kong.response.exit(200, undefined, headers)` silently loses the headers
 * (kong-plugin-protocol.md §2.8). Trailing nils are harmless and allowed.
 */
export function checkPdkArgs(method: string, args: readonly unknown[]): void {
  let last = args.length - 1;
  while (last >= 0 && isNil(args[last])) last--;
  for (let i = 0; i < last; i++) {
    if (isNil(args[i])) {
      throw new LuaEncodeError(
        `${method}: argument #${i + 1} is nil but argument #${last + 1} is not; Kong calls method(unpack(args)) ` +
          `and LuaJIT would drop or shift the arguments. Pass "" or {} instead of null/undefined.`,
      );
    }
  }
}
