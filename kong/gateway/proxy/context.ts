/**
 * Per-request state: what nginx and Kong keep in ngx.var / ngx.ctx for one request, in one typed object the
 * PDK functions read and write. Nothing here outlives the request except the copy handed to the log phase.
 */
import type { IncomingMessage } from 'node:http';
import type { RouteMatch } from '../router';
import type { Entity } from '../store';

export type Phase = 'rewrite' | 'access' | 'balancer' | 'response' | 'header_filter' | 'body_filter' | 'log';

interface HeaderEntry {
  /** The name as first set (its casing is what goes on the wire). */
  name: string;
  values: string[];
}

/**
 * Header store that keeps the casing a plugin used and compares case-insensitively.
 * `clone()` is copy-on-write: the copy shares the entries until either side first writes, so the per-request
 * copies (the upstream request's headers, the headers of a response about to be sent) cost nothing when only
 * read, which is the common case (a plugin that answers with kong.response.exit never touches the upstream's).
 */
export class HeaderMap {
  private map = new Map<string, HeaderEntry>();
  /** The map may be shared with a clone: copy it (entries and value arrays) before writing. */
  private shared = false;

  static from(headers: Record<string, string | string[] | number | undefined>): HeaderMap {
    const h = new HeaderMap();
    for (const [k, v] of Object.entries(headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v : [String(v)]);
    return h;
  }

  /**
   * Node's `rawHeaders` ([name, value, name, value, ...] as received): the same store `from(req.headersDistinct)`
   * builds (lower-cased names, every value of a repeated header in arrival order), without building
   * headersDistinct first.
   */
  static fromRaw(raw: readonly string[]): HeaderMap {
    const h = new HeaderMap();
    const map = h.map;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = (raw[i] as string).toLowerCase();
      const cur = map.get(name);
      if (cur) cur.values.push(raw[i + 1] as string);
      else map.set(name, { name, values: [raw[i + 1] as string] });
    }
    return h;
  }

  private own(): Map<string, HeaderEntry> {
    if (this.shared) {
      const copy = new Map<string, HeaderEntry>();
      for (const [k, e] of this.map) copy.set(k, { name: e.name, values: [...e.values] });
      this.map = copy;
      this.shared = false;
    }
    return this.map;
  }

  /** The values of a header (read-only: the array may be shared with a clone). */
  get(name: string): readonly string[] | undefined {
    return this.map.get(name.toLowerCase())?.values;
  }
  first(name: string): string | undefined {
    return this.get(name)?.[0];
  }
  set(name: string, values: readonly string[]): void {
    this.own().set(name.toLowerCase(), { name, values: [...values] });
  }
  add(name: string, values: readonly string[]): void {
    const cur = this.own().get(name.toLowerCase());
    if (cur) cur.values.push(...values);
    else this.set(name, values);
  }
  delete(name: string): void {
    const key = name.toLowerCase();
    if (this.map.has(key)) this.own().delete(key);
  }
  get size(): number {
    return this.map.size;
  }
  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }
  /** [name, values] pairs (read-only values). */
  entries(): Array<[string, readonly string[]]> {
    const out: Array<[string, readonly string[]]> = [];
    for (const e of this.map.values()) out.push([e.name, e.values]);
    return out;
  }
  /** ngx.req.get_headers()/ngx.resp.get_headers(): lower-cased names, one value as a string, several as an array. */
  toLua(): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const [k, e] of this.map) out[k] = e.values.length === 1 ? (e.values[0] as string) : [...e.values];
    return out;
  }
  /** For Node's writeHead and undici: names as set, one value as a string, several as an array. */
  toNode(): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const e of this.map.values()) out[e.name] = e.values.length === 1 ? (e.values[0] as string) : [...e.values];
    return out;
  }
  clone(): HeaderMap {
    const h = new HeaderMap();
    h.map = this.map;
    h.shared = true;
    this.shared = true;
    return h;
  }
}

export interface DelayedResponse {
  status: number;
  body: Buffer;
  headers: HeaderMap;
}

/** What the log phase gets (kong/runloop/plugin_servers/plugin.lua build_phases: the saved table). */
export interface SavedRequestData {
  serializeData: Record<string, unknown>;
  requestHeaders: Record<string, string | string[]>;
  responseHeaders: Record<string, string | string[]>;
  responseStatus: number;
  reqStartTime: number;
}

export interface RequestContext {
  id: string;
  phase: Phase;
  /** ms since epoch, with sub-ms precision (ngx.req.start_time() * 1000). */
  startTime: number;
  req: IncomingMessage;
  method: string;
  scheme: 'http' | 'https';
  host: string;
  port: number;
  /** Request path as received, without the query string. */
  rawPath: string;
  /** Normalised path (what routing used). */
  path: string;
  rawQuery: string;
  requestHeaders: HeaderMap;
  /** The request body when it fit client_body_buffer_size (empty when spooled, see bodyFile). */
  body: Buffer;
  /** The spool file of a body larger than client_body_buffer_size (request-body.ts). */
  bodyFile: string | undefined;
  /** The body's size in bytes, in memory or spooled. */
  bodySize: number;
  /** nginx client_body_buffer_size: a larger body is not in memory for get_raw_body() without a size. */
  bodyBufferSize: number;
  clientIp: string;
  clientPort: number;
  match: RouteMatch | undefined;
  route: Entity | undefined;
  service: Entity | undefined;
  /** Id of the plugin whose handler is running (kong.plugin.get_id). */
  currentPluginId: string | undefined;
  upstream: {
    scheme: string;
    host: string;
    port: number;
    path: string;
    rawQuery: string;
    method: string;
    headers: HeaderMap;
    body: Buffer | undefined;
    /** Host header sent upstream (preserve_host, or set by set_header('host')). */
    hostHeader: string | undefined;
  };
  /** Headers and status a plugin set on the downstream response before it is sent. */
  response: { status: number | undefined; headers: HeaderMap };
  ctxShared: Record<string, unknown>;
  ngxCtx: Record<string, unknown>;
  serializeValues: Record<string, unknown>;
  delayed: DelayedResponse | undefined;
  /** Where the response came from (kong.response.get_source). */
  source: 'exit' | 'service' | 'error' | undefined;
  bufferedProxying: boolean;
  /** The buffered upstream response (response phase). */
  serviceResponse: { status: number; headers: HeaderMap; body: Buffer | undefined } | undefined;
  /** Sent downstream: status and headers, saved for the log phase. */
  sent: { status: number; headers: HeaderMap } | undefined;
  saved: SavedRequestData | undefined;
  latency: { proxy: number | undefined; upstream: number | undefined; response: number | undefined };
  upstreamUri: string;
  tries: Array<{ ip: string; port: number; balancer_latency: number }>;
}
