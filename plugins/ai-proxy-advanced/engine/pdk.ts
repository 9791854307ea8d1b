/**
 * The few PDK calls the request path makes, and reading the client request with as few of them as possible:
 * every call is one RPC round trip to Kong (kong-plugin-protocol.md §2.6), so the request is read once,
 * headers in one batch, path and query in one call, and method / URI captures only when the config needs them.
 *
 * Names are kong-pdk's camelCase (its bridge turns them into Kong's snake_case).
 */

/** Kong's `fix_mmap` turns every header/query value into an array; tests may pass plain strings. */
export type MultiMap = Record<string, string | string[] | boolean | undefined>;

export interface EnginePdk {
  request: {
    /** `get_raw_body(0)`: 0 = read a spooled body of any size; reaches JS as a Buffer (msgpack bin). */
    getRawBody(maxAllowedFileSize?: number): Promise<Buffer | string | null | undefined>;
    getHeaders(max?: number): Promise<MultiMap | unknown[] | null | undefined>;
    getPathWithQuery(): Promise<string | null | undefined>;
    getMethod(): Promise<string | null | undefined>;
    getUriCaptures(): Promise<{ named?: Record<string, string> | unknown[] } | unknown[] | null | undefined>;
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
}

export interface ReadNeeds {
  /** Any target is `preserve`: the client method is forwarded. */
  method: boolean;
  /** Some template reads `$(uri_captures.x)`. */
  uriCaptures: boolean;
}

export async function readClientRequest(kong: EnginePdk, needs: ReadNeeds): Promise<ClientRequest> {
  const raw = await kong.request.getRawBody(0);
  const rawHeaders = await kong.request.getHeaders(1000);
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
    headers: normalizeHeaders(rawHeaders),
    path,
    rawQuery,
    query: parseQuery(rawQuery),
    method: method.toUpperCase(),
    uriCaptures,
  };
}

export function normalizeHeaders(raw: MultiMap | unknown[] | null | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  // An empty Lua table arrives as [] (msgpack fixarray 0).
  if (!raw || Array.isArray(raw)) return out;
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined || value === false) continue;
    const values = Array.isArray(value) ? value.map(String) : value === true ? [''] : [String(value)];
    const key = name.toLowerCase();
    const prev = out.get(key);
    if (prev) prev.push(...values);
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
