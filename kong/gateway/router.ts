/**
 * Route matching as Kong's default `traditional_compatible` router does it (kong/router/atc.lua,
 * kong/router/transform.lua get_priority, split_routes_and_services_by_path):
 * - a route with several paths is split into one matcher per regex group and per prefix length;
 * - matchers are tried in priority order: number of match criteria (methods, hosts, headers, paths), plain
 *   hosts only (no wildcard), header count, regex path, regex_priority, prefix length; ties keep config order;
 * - prefix paths match as string prefixes of the normalised path, `~` paths as anchored regexes with
 *   captures; hosts compare without the port unless the route host has one, with a leading or trailing `*`;
 *   header values compare case-insensitively, or as a case-insensitive regex when written `~*…`.
 * Routes of a disabled service are not routable (Kong excludes them from the router).
 */
import type { Entity, Snapshot } from './store';
import { refId } from './store';

export interface RouteMatch {
  route: Entity;
  service: Entity | undefined;
  /** The matched path prefix when strip_path is on (Kong's match_t.prefix). */
  prefix: string | undefined;
  captures: { unnamed: Record<string, string>; named: Record<string, string> } | undefined;
}

export interface RequestFacts {
  method: string;
  /** The Host header as received (may include a port). */
  host: string;
  /** The normalised path, without query string. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
}

interface HostRule {
  kind: 'exact' | 'suffix' | 'prefix';
  value: string;
  withPort: boolean;
}

interface Matcher {
  route: Entity;
  service: Entity | undefined;
  methods: string[] | undefined;
  hosts: HostRule[] | undefined;
  headers: Array<{ name: string; values: Array<string | RegExp> }>;
  prefixes: string[] | undefined;
  regexes: RegExp[] | undefined;
  priority: number[];
  order: number;
}

const nonEmpty = (v: unknown): v is unknown[] => Array.isArray(v) && v.length > 0;

function hostRule(h: string): HostRule {
  const v = h.toLowerCase();
  if (v.startsWith('*')) return { kind: 'suffix', value: v.slice(1), withPort: v.includes(':') };
  if (v.endsWith('*')) return { kind: 'prefix', value: v.slice(0, -1), withPort: false };
  return { kind: 'exact', value: v, withPort: /:\d+$/.test(v) };
}

export function splitHostPort(host: string): { name: string; port: string | undefined } {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(host);
  return m ? { name: (m[1] ?? '').toLowerCase(), port: m[2] } : { name: host.toLowerCase(), port: undefined };
}

function hostMatches(rules: HostRule[], host: string): boolean {
  const { name, port } = splitHostPort(host);
  const full = port ? `${name}:${port}` : name;
  return rules.some((r) => {
    const subject = r.withPort ? full : name;
    if (r.kind === 'exact') return subject === r.value;
    if (r.kind === 'suffix') return subject.endsWith(r.value) && subject.length > r.value.length;
    return name.startsWith(r.value) && name.length > r.value.length;
  });
}

function groupPaths(paths: string[]): string[][] {
  const groups = new Map<string | number, string[]>();
  for (const p of paths) {
    const k = p.startsWith('~') ? 'regex' : p.length;
    const g = groups.get(k);
    if (g) g.push(p);
    else groups.set(k, [p]);
  }
  return [...groups.values()];
}

function compare(a: Matcher, b: Matcher): number {
  for (let i = 0; i < a.priority.length; i++) {
    const d = (b.priority[i] ?? 0) - (a.priority[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.order - b.order;
}

/** The matchers of one route (one per group of paths), in Kong's traditional_compatible priority terms. */
function addMatchers(matchers: Matcher[], route: Entity, services: Map<unknown, Entity>): void {
  const serviceId = refId(route.service);
  const service = serviceId === undefined ? undefined : services.get(serviceId);
  if (service && service.enabled === false) return;
  const paths = nonEmpty(route.paths) ? (route.paths as string[]) : undefined;
  const groups = paths ? groupPaths(paths) : [undefined];
  for (const group of groups) {
    const methods = nonEmpty(route.methods) ? (route.methods as string[]) : undefined;
    const hosts = nonEmpty(route.hosts) ? (route.hosts as string[]).map(hostRule) : undefined;
    const headerMap = (route.headers ?? {}) as Record<string, string[]>;
    const headers = Object.entries(headerMap ?? {}).map(([name, values]) => ({
      name: name.toLowerCase(),
      values: values.map((v) => (v.startsWith('~*') ? new RegExp(v.slice(2), 'i') : v.toLowerCase())),
    }));
    const isRegex = group !== undefined && (group[0] ?? '').startsWith('~');
    const weight = [methods, hosts, headers.length > 0 ? headers : undefined, group].filter((x) => x !== undefined).length;
    const plainHostOnly = Array.isArray(route.hosts) && !(route.hosts as string[]).some((h) => h.includes('*'));
    const priority = [
      weight,
      plainHostOnly ? 1 : 0,
      Math.min(headers.length, 255),
      isRegex ? 1 : 0,
      isRegex ? Number(route.regex_priority ?? 0) : 0,
      group && !isRegex ? (group[0] ?? '').length : 0,
    ];
    matchers.push({
      route,
      service,
      methods,
      hosts,
      headers,
      prefixes: group && !isRegex ? group : undefined,
      regexes: group && isRegex ? group.map((p) => new RegExp(`^(?:${p.slice(1)})`)) : undefined,
      priority,
      order: matchers.length,
    });
  }
}

export class Router {
  private readonly matchers: Matcher[];

  constructor(snap: Snapshot, prebuilt?: Matcher[]) {
    if (prebuilt) {
      this.matchers = prebuilt;
      return;
    }
    const services = new Map(snap.services.map((s) => [s.id, s]));
    const matchers: Matcher[] = [];
    for (const route of snap.routes) addMatchers(matchers, route, services);
    this.matchers = matchers.sort(compare);
  }

  /**
   * The same router built a slice at a time (the Admin API's POST /config): compiling 10,000 routes' matchers
   * in one go held the event loop ~230 ms. `now` is injectable for tests.
   */
  static async buildSliced(snap: Snapshot, sliceMs = 10, now: () => number = () => performance.now()): Promise<Router> {
    const services = new Map(snap.services.map((s) => [s.id, s]));
    const matchers: Matcher[] = [];
    let start = now();
    for (const route of snap.routes) {
      addMatchers(matchers, route, services);
      if (now() - start >= sliceMs) {
        await new Promise<void>((r) => setImmediate(r));
        start = now();
      }
    }
    return new Router(snap, matchers.sort(compare));
  }

  match(req: RequestFacts): RouteMatch | undefined {
    for (const m of this.matchers) {
      if (m.methods && !m.methods.includes(req.method)) continue;
      if (m.hosts && !hostMatches(m.hosts, req.host)) continue;
      if (!m.headers.every((h) => headerMatches(h, req.headers[h.name]))) continue;
      let prefix: string | undefined;
      let captures: RouteMatch['captures'];
      if (m.prefixes) {
        const hit = m.prefixes.find((p) => req.path.startsWith(p));
        if (hit === undefined) continue;
        prefix = hit;
      } else if (m.regexes) {
        let found: RegExpExecArray | null = null;
        for (const re of m.regexes) {
          found = re.exec(req.path);
          if (found) break;
        }
        if (!found) continue;
        prefix = found[0];
        if (found.length > 1 || found.groups) {
          const unnamed: Record<string, string> = {};
          found.forEach((v, i) => {
            if (v !== undefined) unnamed[String(i)] = v;
          });
          const named: Record<string, string> = {};
          for (const [k, v] of Object.entries(found.groups ?? {})) if (v !== undefined) named[k] = v;
          captures = { unnamed, named };
        }
      }
      return { route: m.route, service: m.service, prefix: m.route.strip_path === true ? prefix : undefined, captures };
    }
    return undefined;
  }
}

function headerMatches(rule: { values: Array<string | RegExp> }, value: string | string[] | undefined): boolean {
  if (value === undefined) return false;
  const values = Array.isArray(value) ? value : [value];
  return values.some((v) => rule.values.some((r) => (typeof r === 'string' ? r === v.toLowerCase() : r.test(v))));
}

/** kong/router/utils.lua get_upstream_uri_v0: the service path joined with what is left after the prefix. */
export function upstreamUri(opts: { stripPath: boolean; prefix: string | undefined; reqUri: string; servicePath: string | null | undefined }): string {
  const base = opts.servicePath ?? '/';
  const reqUri = opts.reqUri;
  let postfix = opts.stripPath && opts.prefix !== undefined ? reqUri.slice(opts.prefix.length) : '';
  if (postfix === '.' || postfix === '..') postfix = '';
  else if (postfix.startsWith('./')) postfix = postfix.slice(2);
  else if (postfix.startsWith('../')) postfix = postfix.slice(3);
  const strip = opts.stripPath && opts.prefix !== undefined;
  if (base.endsWith('/')) {
    if (strip) {
      if (postfix === '') {
        if (base === '/') return '/';
        if (reqUri.endsWith('/')) return base;
        return base.slice(0, -1);
      }
      if (postfix.startsWith('/')) return base.slice(0, -1) + postfix;
      return base + postfix;
    }
    return base + reqUri.slice(1);
  }
  if (strip) {
    if (postfix === '') return reqUri.length > 1 && reqUri.endsWith('/') ? `${base}/` : base;
    if (postfix.startsWith('/')) return base + postfix;
    return `${base}/${postfix}`;
  }
  if (reqUri === '/') return base;
  return base + reqUri;
}

/** What kong/tools/uri.lua's escape() leaves alone: reserved and unreserved characters and `%`. */
const ESCAPED = /[^!#$&'()*+,/:;=?@[\]A-Za-z0-9\-_.~%]/u;
const ESCAPED_ALL = new RegExp(ESCAPED.source, 'gu');

/**
 * Kong's uri.escape (kong/tools/uri.lua), which kong.service.request.set_path applies (kong/pdk/service/request.lua):
 * every byte outside the reserved and unreserved sets and `%` is percent-encoded (UTF-8 bytes of a non-ASCII
 * character each), so what a plugin sets can always go on the request line: a space, CR or LF can neither break
 * it nor start a new header line.
 */
export function escapeUri(uri: string): string {
  return ESCAPED.test(uri) ? uri.replace(ESCAPED_ALL, percentEncode) : uri;
}

/** One character as %XX of each of its UTF-8 bytes. */
function percentEncode(c: string): string {
  let out = '';
  for (const b of Buffer.from(c, 'utf8')) out += `%${b < 16 ? '0' : ''}${b.toString(16).toUpperCase()}`;
  return out;
}

/**
 * What kong.service.request.set_raw_query does to its string: ngx.req.set_uri_args(string) escapes control bytes,
 * space and DEL (lua-nginx-module ngx_http_lua_escape_args: `a\rb` becomes `a%0Db`) and leaves the rest as given;
 * bytes of non-ASCII characters are escaped too here, as UTF-8, since the request line must be bytes undici accepts.
 */
export function escapeArgs(query: string): string {
  return query.replace(/[\u0000-\u0020\u007f-\u{10ffff}]/gu, percentEncode);
}

/**
 * Kong normalises the request path before routing (kong/tools/uri.lua normalize): percent-encoded unreserved
 * characters are decoded, dot segments removed and repeated slashes kept.
 */
export function normalizePath(raw: string): string {
  let p = !raw.includes('%') ? raw : raw.replace(/%([0-9A-Fa-f]{2})/g, (m, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(c) ? c : m.toUpperCase();
  });
  if (!p.includes('.')) return p;
  const out: string[] = [];
  const segs = p.split('/');
  segs.forEach((s, i) => {
    if (s === '.') {
      if (i === segs.length - 1) out.push('');
    } else if (s === '..') {
      if (out.length > 1) out.pop();
      if (i === segs.length - 1) out.push('');
    } else out.push(s);
  });
  p = out.join('/');
  return p.startsWith('/') ? p : `/${p}`;
}
