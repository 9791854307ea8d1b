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
    // Plain string work on the common path: URL parsing costs microseconds per request (bench/translators).
    // Bases are our own constants or `https://{host}`; default ports are dropped as WHATWG URL would.
    if (preserveClientPath) out = new URL(b).origin + normalisePath(ctx.clientPath);
    else out = stripDefaultPort(b).replace(/\/+$/, '') + withOperation(normalisePath(o?.upstream_path ?? path), opts.operation);
    if (!opts.query) return out;
  }
  const url = new URL(out);
  for (const [k, v] of Object.entries(opts.query)) url.searchParams.set(k, v);
  return url.toString();
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
