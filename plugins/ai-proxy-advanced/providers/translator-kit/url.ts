/**
 * The one upstream URL builder of every driver (Kong OSS kong/llm/drivers/shared.lua upstream_url_format and each
 * driver's configure_request):
 *  - `model.options.upstream_url` is used as is, leading slashes of its path collapsed to one; a self-hosted
 *    provider whose `upstream_url` has no path gets the route type's path (`urlIsBase`, 3.13+ providers);
 *  - otherwise base URL + (`upstream_path` or the route type's path);
 *  - `preserve` without `upstream_path` sends the client's path (shared.lua override_upstream_url);
 *  - the client's query string is forwarded by the engine, as nginx would; `query` adds the provider's own.
 */
import { ConfigError } from '../../errors';
import type { TranslateContext } from '../provider';

export interface UrlOptions {
  /** An `upstream_url` without a path gets `path` (vLLM, DeepSeek, xAI, ...). */
  readonly urlIsBase?: boolean;
  /** Query parameters the provider needs (Azure's api-version); set over the URL's own. */
  readonly query?: Readonly<Record<string, string>>;
  /**
   * Pass-through route types (engine/route-types): the resource the client path names and what follows it. A
   * path ending in the route type's own resource (`from`) gets the named one instead (the Assistants API's
   * `threads`), then `rest` (`/file-abc/content`, already checked and encoded) is appended, whichever of
   * `upstream_url`, `upstream_path` or the route type's path gave the path.
   */
  readonly operation?: { readonly from: string; readonly resource: string; readonly rest: string };
}

function withOperation(path: string, op: UrlOptions['operation']): string {
  if (!op) return path;
  const swapped = op.resource !== op.from && path.endsWith(`/${op.from}`) ? path.slice(0, -op.from.length) + op.resource : path;
  return swapped.replace(/\/+$/, '') + op.rest;
}

/** One leading slash, whatever the path had (Kong's drivers normalise it the same way). */
export function normalisePath(path: string): string {
  return '/' + path.replace(/^\/*/, '');
}

/**
 * The provider URL. `base` (scheme://host[:port][/prefix]) is only evaluated when no `upstream_url` is set, so a
 * base that needs options (Azure's instance) does not fail a target that names its URL.
 */
export function upstreamUrl(ctx: TranslateContext, base: string | (() => string), path: string, opts: UrlOptions = {}): string {
  const o = ctx.target.model.options;
  const preserveClientPath = ctx.routeType === 'preserve' && !o?.upstream_path;
  // The same target gives the same URL on every request unless the client's path goes into it: built once.
  // A base computed from options (a function, e.g. Azure's instance) is built every time. Every input of
  // buildUpstreamUrl but the client path is in the key: a pass-through operation (`/files/{id}/content`)
  // left out sent every request to the first request's resource.
  if (preserveClientPath || (!o?.upstream_url && typeof base !== 'string')) return buildUpstreamUrl(ctx, base, path, opts, preserveClientPath);
  const key = `${o?.upstream_url ?? ''}\n${o?.upstream_url ? '' : (base as string)}\n${o?.upstream_path ?? ''}\n${path}\n${opts.urlIsBase === true}\n${
    opts.query ? JSON.stringify(opts.query) : ''
  }\n${opts.operation ? `${opts.operation.from}\n${opts.operation.resource}\n${opts.operation.rest}` : ''}`;
  return remember(builtUrls, key, () => buildUpstreamUrl(ctx, base, path, opts, false));
}

function buildUpstreamUrl(ctx: TranslateContext, base: string | (() => string), path: string, opts: UrlOptions, preserveClientPath: boolean): string {
  const o = ctx.target.model.options;
  let out: string;
  if (o?.upstream_url) {
    let url: URL;
    try {
      url = new URL(o.upstream_url);
    } catch {
      throw new ConfigError('model.options.upstream_url is not a valid URL');
    }
    if (preserveClientPath) url.pathname = normalisePath(ctx.clientPath);
    else if (opts.urlIsBase && (url.pathname === '' || url.pathname === '/')) url.pathname = withOperation(normalisePath(path), opts.operation);
    else url.pathname = withOperation(normalisePath(url.pathname), opts.operation);
    if (!opts.query) return url.toString();
    out = url.toString();
  } else {
    const b = typeof base === 'string' ? base : base();
    // Plain string work: bases are our own constants or `https://{host}`; default ports are dropped as WHATWG
    // URL would.
    if (preserveClientPath) out = new URL(b).origin + normalisePath(ctx.clientPath);
    else out = stripDefaultPort(b).replace(/\/+$/, '') + withOperation(normalisePath(o?.upstream_path ?? path), opts.operation);
    if (!opts.query) return out;
  }
  const url = new URL(out);
  for (const [k, v] of Object.entries(opts.query)) url.searchParams.set(k, v);
  return url.toString();
}

/**
 * Per-request URL work done once per distinct input: a WHATWG parse or build costs microseconds, and a target's
 * URL is the same on every request (templated ones vary; client query strings vary). Bounded: a full map is
 * emptied, so hostile variety costs the parse it would have cost anyway, never memory.
 */
const MEMO_MAX = 1024;
const builtUrls = new Map<string, string>();
const parsedUrls = new Map<string, UrlParts>();

function remember<V>(memo: Map<string, V>, key: string, make: () => V): V {
  const hit = memo.get(key);
  if (hit !== undefined) return hit;
  const v = make();
  if (memo.size >= MEMO_MAX) memo.clear();
  memo.set(key, v);
  return v;
}

/** The parts of a parsed URL the engine reads. */
export interface UrlParts {
  readonly origin: string;
  readonly protocol: string;
  readonly hostname: string;
  readonly port: string;
  readonly pathname: string;
  readonly search: string;
}

/** `new URL(url)`'s parts, parsed once per distinct URL; throws what `new URL` throws. */
export function parseUrl(url: string): UrlParts {
  return remember(parsedUrls, url, () => {
    const u = new URL(url);
    return Object.freeze({ origin: u.origin, protocol: u.protocol, hostname: u.hostname, port: u.port, pathname: u.pathname, search: u.search });
  });
}

function stripDefaultPort(base: string): string {
  if (base.startsWith('https://')) return base.replace(/^(https:\/\/[^/:]+):443(?=\/|$)/, '$1');
  if (base.startsWith('http://')) return base.replace(/^(http:\/\/[^/:]+):80(?=\/|$)/, '$1');
  return base;
}

/** Self-hosted providers have no default URL (Kong: "must set model.options.upstream_url for <provider> provider"). */
export function requireUpstreamUrl(ctx: TranslateContext, provider: string): string {
  const url = ctx.target.model.options?.upstream_url;
  if (!url) throw new ConfigError(`must set model.options.upstream_url for ${provider} provider`);
  return url;
}
