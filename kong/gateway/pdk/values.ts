/**
 * Helpers shared by the PDK modules: Lua-style argument checks (kong/pdk/private/checks.lua), cjson-style
 * encoding, and body decoding as kong.request.get_body does it.
 */
import { HeaderMap } from '../proxy/context';
import { LuaError } from './phase-check';

/**
 * Lookups and stores by a name the plugin server sends, on plain objects: only own keys, as a Lua table has no
 * prototype. `ngx.var.constructor`, `kong.ctx.shared.toString` are nil in Kong; a plain `obj[name]` found
 * Object.prototype's (get_var('constructor') called Object(ctx) and answered the whole request context), and a
 * store under '__proto__' would set the object's prototype instead of a key.
 */
export function own<T>(obj: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

export function luaType(v: unknown): string {
  if (v === undefined || v === null) return 'nil';
  if (Buffer.isBuffer(v) || typeof v === 'string') return 'string';
  if (typeof v === 'object') return 'table';
  return typeof v;
}

const oneHeaderValue = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('latin1') : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;

/** validate_header: a header value is a string, number, boolean, or an array of those. */
export function headerValues(name: unknown, value: unknown): string[] {
  if (typeof name !== 'string') throw new LuaError(`invalid header name "${String(name)}": got ${luaType(name)}, expected string`);
  const one = oneHeaderValue;
  const single = one(value);
  if (single !== undefined) return [single];
  if (Array.isArray(value)) {
    const all = value.map(one);
    if (all.every((x): x is string => x !== undefined)) return all;
  }
  throw new LuaError(`invalid header value for "${name}": got ${luaType(value)}, expected array of string, string, number or boolean`);
}

/** A headers table argument (`set_headers`, `exit`'s third argument). */
export function headerTable(tbl: unknown, what = 'headers'): HeaderMap {
  const h = new HeaderMap();
  if (tbl === undefined || tbl === null) return h;
  if (typeof tbl !== 'object' || Buffer.isBuffer(tbl)) throw new LuaError(`${what} must be a nil or table`);
  // An empty Lua table crosses msgpack as an empty array.
  if (Array.isArray(tbl)) {
    if (tbl.length === 0) return h;
    throw new LuaError(`${what} must be a table with string keys`);
  }
  for (const [k, v] of Object.entries(tbl as Record<string, unknown>)) h.set(k, headerValues(k, v));
  return h;
}

/** cjson.encode: an empty table is `{}`; `/` is escaped as `\/`. */
export function cjsonEncode(v: unknown): string {
  const prepared = prepare(v);
  return JSON.stringify(prepared).replace(/\//g, '\\/');
}

function prepare(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (Array.isArray(v)) return v.length === 0 ? {} : v.map(prepare);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== undefined) out[k] = prepare(x);
    return out;
  }
  return v;
}

export function toBuffer(v: unknown): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8');
}

/** ngx.decode_args: repeated keys become arrays, a key without `=` is `true`. */
export function decodeArgs(query: string, max = 100): Record<string, string | boolean | Array<string | boolean>> {
  const out: Record<string, string | boolean | Array<string | boolean>> = {};
  let n = 0;
  for (const part of query.split('&')) {
    if (part === '') continue;
    if (max > 0 && n >= max) break;
    n++;
    const eq = part.indexOf('=');
    const dec = (s: string): string => {
      try {
        return decodeURIComponent(s.replace(/\+/g, ' '));
      } catch {
        return s;
      }
    };
    const k = dec(eq < 0 ? part : part.slice(0, eq));
    const v: string | boolean = eq < 0 ? true : dec(part.slice(eq + 1));
    const cur = out[k];
    if (cur === undefined) out[k] = v;
    else if (Array.isArray(cur)) cur.push(v);
    else out[k] = [cur, v];
  }
  return out;
}

/**
 * ngx.escape_uri's component escaping, which ngx.encode_args uses: everything but ALPHA, DIGIT and `-._~` is
 * percent-encoded (lua-nginx-module ngx_http_lua_escape_uri, NGX_ESCAPE_URI_COMPONENT); encodeURIComponent
 * leaves `!'()*` alone.
 */
function escapeComponent(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * A Lua args table as kong.service.request.set_query and set_body's form encoding write it (kong/pdk/service/
 * request.lua make_ordered_args): each key encoded on its own by ngx.encode_args (a `true` value is the bare key,
 * `false` is left out, an array repeats the key in order), then those pieces sorted as strings, so the order is
 * that of the encoded text (`a%20b=1` before `a=1`), not of the keys. A key whose values are all false is an
 * empty piece that keeps its `&` (Kong's table_concat does), as on Kong.
 */
export function encodeArgs(args: unknown): string {
  if (args === null || typeof args !== 'object' || Array.isArray(args)) throw new LuaError('args must be a table');
  const pieces: string[] = [];
  for (const k of Object.keys(args as object)) {
    const v = (args as Record<string, unknown>)[k];
    // A msgpack nil is no entry at all in the Lua table Kong decodes: no piece, not `k=null`.
    if (v === null || v === undefined) continue;
    const key = escapeComponent(k);
    const parts: string[] = [];
    for (const x of Array.isArray(v) ? v : [v]) {
      if (x === false || x === null || x === undefined) continue;
      if (x === true) parts.push(key);
      else if (typeof x === 'number') parts.push(`${key}=${escapeComponent(luaNumber(x))}`);
      else if (typeof x === 'string') parts.push(`${key}=${escapeComponent(x)}`);
      // ngx.encode_args raises on a table or other value (ngx_http_lua_args.c: "attempt to use <type> as query arg value").
      else throw new LuaError(`attempt to use ${Array.isArray(x) || typeof x === 'object' ? 'table' : typeof x} as query arg value`);
    }
    pieces.push(parts.join('&'));
  }
  return pieces.sort().join('&');
}

/**
 * A number as LuaJIT's tostring writes it (lj_strfmt_num: "%.14g"; inf, -inf, nan): 0.1 + 0.2 is `0.3`, 1e20 is
 * `1e+20`, where JavaScript's String gives `0.30000000000000004` and `100000000000000000000`.
 */
export function luaNumber(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const sign = x < 0 ? '-' : '';
  const a = Math.abs(x);
  // 14 significant digits. toExponential rounds an exact tie up, printf to even: 123456789012345 is
  // 1.2345678901234e+14 in C. A tie is a 5 then only zeros in the exact expansion (toExponential(100) holds it:
  // a double's expansion that long past its 15th digit would need more than 100 digits to end).
  let sci = a.toExponential(13);
  const full = a.toExponential(100);
  const exact = full[0]! + full.slice(2, full.indexOf('e'));
  if (exact[14] === '5' && /^0*$/.test(exact.slice(15)) && Number(exact[13]) % 2 === 0) sci = `${exact[0]}.${exact.slice(1, 14)}${full.slice(full.indexOf('e'))}`;
  const digits = sci[0]! + sci.slice(2, sci.indexOf('e'));
  const exp = Number(sci.slice(sci.indexOf('e') + 1));
  const trim = (frac: string): string => frac.replace(/0+$/, '');
  if (exp < -4 || exp >= 14) {
    const frac = trim(digits.slice(1));
    return `${sign}${digits[0]}${frac === '' ? '' : `.${frac}`}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const int = exp >= 0 ? digits.slice(0, exp + 1) : '0';
  const frac = trim(exp >= 0 ? digits.slice(exp + 1) : '0'.repeat(-exp - 1) + digits);
  return `${sign}${int}${frac === '' ? '' : `.${frac}`}`;
}

/** kong.request.get_body's first return value: the decoded table, or nil. */
export function decodeBody(body: Buffer, contentType: string | undefined, mimetype?: unknown): unknown {
  const ct = (typeof mimetype === 'string' ? mimetype : contentType ?? '').toLowerCase();
  if (ct === '') return undefined;
  if (ct.includes('application/json')) {
    try {
      const v: unknown = JSON.parse(body.toString('utf8'));
      return v !== null && typeof v === 'object' ? v : undefined;
    } catch {
      return undefined;
    }
  }
  if (ct.includes('application/x-www-form-urlencoded')) return decodeArgs(body.toString('utf8'));
  return undefined;
}

/** Sets a dotted key inside a nested table (kong.log.set_serialize_value). */
export function setDotted(root: Record<string, unknown>, key: string, value: unknown, mode: 'set' | 'add' | 'replace'): void {
  const parts = key.split('.');
  let cur = root;
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i] as string;
    const next = cur[p];
    if (next === undefined || next === null || typeof next !== 'object') {
      if (mode === 'replace') return;
      cur[p] = {};
    }
    cur = cur[p] as Record<string, unknown>;
  }
  const last = parts[parts.length - 1] as string;
  const exists = cur[last] !== undefined;
  if ((mode === 'add' && exists) || (mode === 'replace' && !exists)) return;
  if (value === undefined || value === null) delete cur[last];
  else cur[last] = value;
}

export function deepMerge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(extra)) {
    const b = out[k];
    out[k] =
      v !== null && typeof v === 'object' && !Array.isArray(v) && b !== null && typeof b === 'object' && !Array.isArray(b)
        ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}
