/**
 * The few PDK calls the request path makes, and reading the client request with as few of them as possible:
 * every call is one RPC round trip to Kong (kong-plugin-protocol.md §2.6), so the request is read once,
 * headers in one batch, path and query in one call, and method / URI captures only when the config needs them.
 *
 * Names are kong-pdk's camelCase (its bridge turns them into Kong's snake_case).
 */

import { BodyTooLargeError } from '../errors';

/** Kong's `fix_mmap` turns every header/query value into an array; tests may pass plain strings. */
export type MultiMap = Record<string, string | string[] | boolean | undefined>;

export interface EnginePdk {
  request: {
    /**
     * Kong 3.8+ `get_raw_body(max_allowed_file_size)` (kong/pdk/request.lua): a body still in nginx's buffer
     * (client_body_buffer_size) comes whatever the size; a spooled one is read only when the argument is given,
     * 0 meaning any size, and refused (nil) when it is larger. Reaches JS as a Buffer (msgpack bin).
     */
    getRawBody(maxAllowedFileSize?: number): Promise<Buffer | string | null | undefined>;
    getHeaders(max?: number): Promise<MultiMap | unknown[] | null | undefined>;
    getPathWithQuery(): Promise<string | null | undefined>;
    getMethod(): Promise<string | null | undefined>;
    getUriCaptures(): Promise<{ named?: Record<string, string> | unknown[] } | unknown[] | null | undefined>;
    /** acls `path` conditions only: Kong's normalized path (kong/pdk/request.lua get_path; the raw one is bypassable). */
    getPath(): Promise<string | null | undefined>;
  };
  /** acls only (acls.ts), each call made only when a rule needs its answer. */
  client: {
    getConsumer(): Promise<Record<string, unknown> | unknown[] | null | undefined>;
    /** Kong Enterprise PDK; Kong OSS has no such method and its bridge answers nil (no groups). */
    getConsumerGroups(): Promise<Record<string, unknown> | unknown[] | null | undefined>;
    /** The client address after Kong's trusted_ips / real_ip_header handling. */
    getForwardedIp(): Promise<string | null | undefined>;
  };
  response: {
    exit(status: number, body: unknown, headers: Record<string, string>): Promise<void>;
  };
  /** Streamed delivery only: Kong proxies only routes that belong to a service. */
  router: {
    getService(): Promise<Record<string, unknown> | unknown[] | null | undefined>;
  };
  /** Streamed delivery only: points Kong's upstream at the plugin server's loopback endpoint. */
  service: {
    setTarget(host: string, port: number): Promise<void>;
    request: {
      setScheme(scheme: string): Promise<void>;
      setPath(path: string): Promise<void>;
    };
  };
  log: {
    setSerializeValue(key: string, value: unknown): Promise<void>;
    err(...message: unknown[]): Promise<void>;
  };
}

/** What the engine needs from the client request, read once. */
export interface ClientRequest {
  readonly body: Buffer;
  /** Lower-case names; Kong joins repeated values only for the first one (`get_header`). */
  readonly headers: ReadonlyMap<string, string[]>;
  readonly path: string;
  /** Raw query string without `?` (forwarded upstream as Kong's nginx would). */
  readonly rawQuery: string;
  readonly query: Readonly<Record<string, string | string[]>>;
  readonly method: string;
  readonly uriCaptures: Readonly<Record<string, string>>;
  /** Targets this request may not use (model_alias, acls: request-targets.ts), decided in access. */
  readonly ineligible?: ReadonlySet<number> | undefined;
}

export interface ReadNeeds {
  /** Any target is `preserve`: the client method is forwarded. */
  method: boolean;
  /** Some template reads `$(uri_captures.x)`. */
  uriCaptures: boolean;
  /** `max_request_body_size`: the most body bytes asked of Kong; 0 or unset = any size. */
  maxBody?: number | null | undefined;
}

/**
 * Refuses a body the client announced as larger than `max_request_body_size`, before Kong is asked for it: Kong
 * would otherwise read it (up to nginx's client_max_body_size) and send it over the socket only for it to be
 * refused here. Announced and too big is the common case; a chunked body has no Content-Length, and Kong's
 * `get_raw_body(max)` keeps one over the limit from ever reaching the plugin server.
 */
export function checkAnnouncedLength(headers: ReadonlyMap<string, string[]>, maxBody: number | null | undefined): void {
  if (maxBody == null || maxBody <= 0) return;
  const announced = headers.get('content-length')?.[0];
  if (announced === undefined || !/^\d{1,15}$/.test(announced.trim())) return;
  const n = Number(announced.trim());
  if (n > maxBody) throw new BodyTooLargeError(`request body is ${n} bytes, more than max_request_body_size (${maxBody})`);
}

/**
 * Reads what every buffered request needs, in three round trips, and what only some configs need (ReadNeeds,
 * computed once per config by engine.ts readNeedsOf) in one more each. None of the three can be left out for any
 * config without changing what Kong does (spec/engine/rpc-calls.test.ts asserts the calls per config):
 * - headers: forwarded to the provider as nginx proxies them, Content-Type and Content-Length (the body limit),
 *   `auth.allow_override`, `$(headers.x)` templates, Kong-Debug, Accept-Encoding;
 * - body: the request itself;
 * - path with query: Kong forwards the client's query string to the provider whatever the route type or
 *   target (kong/runloop/handler.lua access `after`: `upstream_uri .. "?" .. var.args`; the drivers' query auth
 *   adds to kong.request.get_query(), kong/llm/drivers/openai.lua configure_request), and no other call can tell
 *   whether there is one; the path comes in the same call, for the configs that read it (pass-through
 *   operations, native formats, preserve). `get_raw_query` would cost the same round trip.
 * The method is read only for `preserve` and the pass-through route types, whose APIs take GET and DELETE too;
 * the other route types' APIs take only POST, which is what is sent (Kong never sets the method, so it would pass
 * a client's GET on as is, for the provider to refuse; one round trip on every request to reproduce that).
 */
export async function readClientRequest(kong: EnginePdk, needs: ReadNeeds): Promise<ClientRequest> {
  // Headers first: a body announced too large is refused without being read.
  const rawHeaders = await kong.request.getHeaders(1000);
  const headers = normalizeHeaders(rawHeaders);
  const maxBody = needs.maxBody != null && needs.maxBody > 0 ? needs.maxBody : 0;
  checkAnnouncedLength(headers, maxBody);
  // A spooled body over maxBody is nil in Kong's get_raw_body, which its bridge cannot pack (the request fails
  // there, kong-plugin-protocol.md §2.6): only a chunked body over the limit can get that far.
  const raw = await kong.request.getRawBody(maxBody);
  const pathWithQuery = (await kong.request.getPathWithQuery()) ?? '/';
  const method = needs.method ? ((await kong.request.getMethod()) ?? 'POST') : 'POST';
  let uriCaptures: Record<string, string> = {};
  if (needs.uriCaptures) {
    const caps = await kong.request.getUriCaptures();
    const named = caps && !Array.isArray(caps) ? caps.named : undefined;
    if (named && !Array.isArray(named)) uriCaptures = named;
  }
  const q = pathWithQuery.indexOf('?');
  const path = q < 0 ? pathWithQuery : pathWithQuery.slice(0, q);
  const rawQuery = q < 0 ? '' : pathWithQuery.slice(q + 1);
  return {
    body: raw == null ? Buffer.alloc(0) : typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw,
    headers,
    path,
    rawQuery,
    query: parseQuery(rawQuery),
    method: method.toUpperCase(),
    uriCaptures,
  };
}

function allStrings(values: readonly unknown[]): boolean {
  for (let i = 0; i < values.length; i++) if (typeof values[i] !== 'string') return false;
  return true;
}

export function normalizeHeaders(raw: MultiMap | unknown[] | null | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  // An empty Lua table arrives as [] (msgpack fixarray 0).
  if (!raw || Array.isArray(raw)) return out;
  // Object.keys, not entries: no [name, value] array per header on every request.
  for (const name of Object.keys(raw)) {
    const value = raw[name];
    if (value === undefined || value === false) continue;
    // Kong's values are already strings in a fresh array per call: kept as they are, not copied per header.
    const values = Array.isArray(value) ? (allStrings(value) ? (value as string[]) : value.map(String)) : value === true ? [''] : [String(value)];
    const key = name.toLowerCase();
    const prev = out.get(key);
    // Joined into a new array: neither may be changed, as `values` may be the caller's own.
    if (prev) out.set(key, prev.concat(values));
    else out.set(key, values);
  }
  return out;
}

export function parseQuery(rawQuery: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (rawQuery === '') return out;
  for (const [k, v] of new URLSearchParams(rawQuery)) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k] = [prev, v];
  }
  return out;
}

/** First value of a header, as Kong's `kong.request.get_header`. */
export function firstHeader(headers: ReadonlyMap<string, string[]>, name: string): string | undefined {
  return headers.get(name.toLowerCase())?.[0];
}

/** First value of a query argument, as Kong's `kong.request.get_query_arg`. */
export function firstQueryArg(query: Readonly<Record<string, string | string[]>>, name: string): string | undefined {
  const v = query[name];
  return Array.isArray(v) ? v[0] : v;
}
