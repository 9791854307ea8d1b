/**
 * Admin API request bodies as Kong accepts them (kong/api/api_helpers.lua before_filter and parse_params):
 * a write (POST/PUT/PATCH) with a body must be `application/json`, `multipart/form-data` or
 * `application/x-www-form-urlencoded` (and, for /config only, `application/yaml` or `text/yaml`), else 415;
 * two Content-Type headers are a 400. Form and multipart fields are decoded as Kong's arguments.decode
 * (arguments.ts) and typed by the entity's schema in the Admin API (api.ts).
 *
 * Everything here is hostile input: the body is read against nginx's admin `client_max_body_size` (10m in
 * kong_defaults.lua) and refused with 413 as soon as Content-Length or the bytes read exceed it, nothing kept;
 * nesting deeper than MAX_DEPTH and the keys `__proto__`, `constructor` and `prototype` are refused with 400
 * wherever a body becomes an object (form paths, JSON, YAML, multipart), before any code copies it.
 */
import type { IncomingMessage } from 'node:http';
import { isPlainObject } from '../schema/kong-schema';
import { decodeArgs, type FormValue } from './arguments';
import { nestedDeeperThan } from '../../../plugins/ai-proxy-advanced/engine/parse-request';

/** A request the Admin API cannot read: `status` {"message": …}. */
export class BadRequest extends Error {
  constructor(
    message: string,
    readonly status = 400,
    readonly body: unknown = { message },
  ) {
    super(message);
  }
}

/** No Kong entity or plugin config nests anywhere near this deep; a deeper body is an attack or a mistake. */
export const MAX_DEPTH = 64;
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export interface BodyLimits {
  /** Bytes; 0 = no limit (nginx's meaning). */
  maxBodySize: number;
}

function tooLarge(): BadRequest {
  return new BadRequest('Payload too large', 413);
}

/**
 * Reads the body, refusing it with 413 as soon as it is known to exceed the limit (declared Content-Length or
 * bytes read); the rest of an oversized body is drained and dropped, never kept.
 */
export function readLimited(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const max = limits.maxBodySize;
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (max > 0 && Number.isFinite(declared) && declared > max) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (c: Buffer) => {
      if (refused) return;
      size += c.length;
      if (max > 0 && size > max) {
        refused = true;
        chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!refused) resolve(Buffer.concat(chunks, size));
    });
    req.on('error', reject);
  });
}

/** Walks a decoded body without recursion: refuses prototype keys and nesting deeper than MAX_DEPTH. */
export function checkShape(value: unknown, what = 'body'): void {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object' || Buffer.isBuffer(v)) continue;
    if (depth >= MAX_DEPTH) throw new BadRequest(`${what}: nested deeper than ${MAX_DEPTH} levels`);
    if (Array.isArray(v)) {
      for (const e of v) stack.push([e, depth + 1]);
      continue;
    }
    for (const k of Object.keys(v)) {
      if (FORBIDDEN_KEYS.has(k)) throw new BadRequest(`${what}: key '${k}' is not allowed`);
      stack.push([(v as Record<string, unknown>)[k], depth + 1]);
    }
  }
}

/**
 * Nesting depth of JSON text, counted without parsing (brackets outside strings), so a 100,000-deep array is
 * refused before JSON.parse or any recursive code sees it. The plugin's scanner (engine/parse-request.ts), which
 * reads decoded text, serves both.
 */
export function jsonTooDeep(text: string, max = MAX_DEPTH): boolean {
  return nestedDeeperThan(text, max);
}

/**
 * The same bound for YAML text, whose quoting is not JSON's (`x: 5" screen` is a plain scalar): every bracket
 * counts, inside quotes or not, so no stray quote can hide a deep flow collection from the check. Brackets in
 * strings only make it stricter, and a document needs over MAX_DEPTH unclosed ones for that to matter.
 */
export function bracketsTooDeep(text: string, max = MAX_DEPTH): boolean {
  if (text.length <= max) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if ((c === 0x7d || c === 0x5d) && depth > 0) depth--;
  }
  return false;
}

export function parseJson(text: string): unknown {
  if (jsonTooDeep(text)) throw new BadRequest(`body: nested deeper than ${MAX_DEPTH} levels`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BadRequest('Cannot parse JSON body');
  }
  checkShape(parsed);
  return parsed;
}

/** A urlencoded form body into nested params, values still text (typed later by the entity's schema). */
export function parseForm(text: string): Record<string, unknown> {
  return decodeArgs(new URLSearchParams(text));
}

/**
 * multipart/form-data fields (RFC 7578), each part's name and value: text (files are read as text too), or the
 * parsed JSON of a part sent as `application/json` (arguments.lua parse_multipart_stream keeps `part.json`).
 */
export function parseMultipart(raw: Buffer, contentType: string): Array<[string, FormValue]> {
  const m = /boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) throw new BadRequest('multipart/form-data body without a boundary');
  const delim = Buffer.from(`--${boundary}`);
  const out: Array<[string, FormValue]> = [];
  let pos = raw.indexOf(delim);
  if (pos < 0) throw new BadRequest('multipart/form-data body without its boundary');
  for (;;) {
    pos += delim.length;
    if (raw[pos] === 0x2d && raw[pos + 1] === 0x2d) break; // closing delimiter
    const next = raw.indexOf(delim, pos);
    if (next < 0) throw new BadRequest('multipart/form-data body is not terminated');
    const part = raw.subarray(pos, next);
    const headEnd = part.indexOf('\r\n\r\n');
    if (headEnd < 0) throw new BadRequest('multipart/form-data part without headers');
    const head = part.subarray(0, headEnd).toString('latin1');
    const name = /content-disposition:[^\r\n]*;\s*name="([^"]*)"/i.exec(head)?.[1];
    if (name === undefined) throw new BadRequest('multipart/form-data part without a name');
    let body = part.subarray(headEnd + 4);
    if (body.length >= 2 && body[body.length - 2] === 0x0d && body[body.length - 1] === 0x0a) body = body.subarray(0, body.length - 2);
    const text = body.toString('utf8');
    const partType = /(?:^|\r\n)content-type:[ \t]*([^\r\n]*)/i.exec(head)?.[1]?.trim().toLowerCase() ?? '';
    out.push([name, partType.startsWith('application/json') ? jsonPart(text) : text]);
    pos = next;
  }
  return out;
}

/**
 * An `application/json` part: its parsed value, or its text when it is no JSON (arguments.lua logs the decode
 * error and keeps the part). Nesting and prototype keys are refused as in any JSON body.
 */
function jsonPart(text: string): FormValue {
  try {
    return { json: parseJson(text), text };
  } catch (err) {
    if (err instanceof BadRequest && err.message === 'Cannot parse JSON body') return text;
    throw err;
  }
}

export type BodyKind = 'json' | 'form' | 'multipart' | 'yaml' | 'none';

/**
 * Kong's before_filter: which kind of body a write carries, or a 415/400. `yamlAllowed` is Kong's ACCEPTS_YAML
 * (only /config). A body-less write (Content-Length 0 or none) needs no Content-Type.
 */
export function bodyKind(req: IncomingMessage, yamlAllowed: boolean): BodyKind {
  const cts = req.headersDistinct['content-type'];
  if (cts === undefined) {
    const len = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
    if (len === '0' || (len === undefined && !chunked)) return 'none';
    throw new BadRequest('Unsupported Media Type', 415, undefined);
  }
  if (cts.length > 1) throw new BadRequest('Multiple Content-Type headers not allowed');
  // Kong compares prefixes of the header as sent; lower-casing first also accepts `Application/JSON`.
  const ct = (cts[0] ?? '').toLowerCase();
  if (ct.startsWith('application/json')) return 'json';
  if (ct.startsWith('multipart/form-data')) return 'multipart';
  if (ct.startsWith('application/x-www-form-urlencoded')) return 'form';
  if (yamlAllowed && (ct.startsWith('application/yaml') || ct.startsWith('text/yaml'))) return 'yaml';
  throw new BadRequest('Unsupported Media Type', 415, undefined);
}

/**
 * An entity write's body as params (JSON object, form or multipart fields). Form and multipart values are text
 * until `infer` types them by the entity's schema (Kong infers only those; JSON keeps its own types).
 */
export async function parseBody(
  req: IncomingMessage,
  limits: BodyLimits,
  infer: (params: Record<string, unknown>) => Record<string, unknown> = (p) => p,
): Promise<Record<string, unknown>> {
  const kind = bodyKind(req, false);
  const raw = await readLimited(req, limits);
  if (kind === 'none' || raw.length === 0) return {};
  if (kind === 'form') return infer(parseForm(raw.toString('utf8')));
  if (kind === 'multipart') return infer(decodeArgs(parseMultipart(raw, req.headers['content-type'] ?? '')));
  const text = raw.toString('utf8');
  if (text.trim() === '') return {};
  const parsed = parseJson(text);
  if (!isPlainObject(parsed)) throw new BadRequest('Cannot parse JSON body');
  return parsed;
}
