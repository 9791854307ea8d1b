/**
 * The one upstream URL builder of every driver (Kong OSS kong/llm/drivers/shared.lua upstream_url_format and each
 * driver's configure_request):
 *  - `model.options.upstream_url` is used as is, leading slashes of its path collapsed to one; a self-hosted
 *    provider whose `upstream_url` has no path gets the route type's path (`urlIsBase`, 3.13+ providers);
 *  - otherwise base URL + (`upstream_path` or the route type's path);
 *  - `preserve` without `upstream_path` sends the client's path (shared.lua override_upstream_url);
 *  - the client's query string is forwarded by the engine, as nginx would; `query` adds the provider's own.
 * Built once per target and route type, not per request (urlMemo); `preserve`'s client path and a pass-through
 * operation's client ids are joined per request.
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

/** `url` (ending with its path: no query or fragment) with the operation at the end of its path. */
function withOperation(url: string, op: NonNullable<UrlOptions['operation']>): string {
  const swapped = op.resource !== op.from && url.endsWith(`/${op.from}`) ? url.slice(0, -op.from.length) + op.resource : url;
  return swapped.replace(/\/+$/, '') + op.rest;
}

/** One leading slash, whatever the path had (Kong's drivers normalise it the same way). */
export function normalisePath(path: string): string {
  return '/' + path.replace(/^\/*/, '');
}

/**
 * The provider URL. `base` (scheme://host[:port][/prefix]) is only evaluated when no `upstream_url` is set, so a
 * base that needs options (Azure's instance) does not fail a target that names its URL. It must depend on the
 * provider, the target's `model.options` and the route type only (never on the request): the built URL is
 * remembered per options object (urlMemo).
 */
export function upstreamUrl(ctx: TranslateContext, base: string | (() => string), path: string, opts: UrlOptions = {}): string {
  const o = ctx.target.model.options;
  // `preserve` sends the client's path: built per request, never remembered.
  if (ctx.routeType === 'preserve' && !o?.upstream_path) return buildUpstreamUrl(ctx, base, path, opts, true).url;
  const memo = urlMemo(o ?? noOptions(ctx.provider));
  const urlIsBase = opts.urlIsBase === true;
  const query = opts.query ? JSON.stringify(opts.query) : '';
  // By path first: usually a driver's constant string, whose hash V8 keeps (a key built per request would be
  // hashed per request), then the few URLs of that path compared field by field.
  let same = memo.byPath.get(path);
  let built: BuiltUrl | undefined;
  if (same !== undefined) {
    for (const e of same) {
      if (e.provider === ctx.provider && e.routeType === ctx.routeType && e.urlIsBase === urlIsBase && e.query === query) built = e.built;
    }
  }
  if (built === undefined) {
    // A pass-through operation is left out of what is remembered (it carries the client's ids,
    // `/files/{id}/content`): the URL without it is remembered, the operation joined to it per request.
    built = buildUpstreamUrl(ctx, base, path, opts, false);
    // A long URL carries client input (a model or api-version): built per request rather than held.
    if (built.url.length <= MAX_REMEMBERED_URL) {
      if (memo.size >= MEMO_PER_OPTIONS) {
        memo.byPath.clear();
        memo.size = 0;
        same = undefined;
      }
      if (same === undefined) memo.byPath.set(path, (same = []));
      same.push({ provider: ctx.provider, routeType: ctx.routeType, urlIsBase, query, built });
      memo.size++;
    }
  }
  return opts.operation ? withOperation(built.head, opts.operation) + built.tail : built.url;
}

/** A built URL: whole, and split where a pass-through operation goes (the end of the path). */
interface BuiltUrl {
  readonly url: string;
  /** Up to the end of the path. */
  readonly head: string;
  /** The query and fragment ('' or from `?` / `#`). */
  readonly tail: string;
}

function splitUrl(url: string): BuiltUrl {
  // A serialized URL's first `?` or `#` starts its query or fragment: inside a path or user info they are
  // percent-encoded (WHATWG URL's percent-encode sets).
  const cut = url.search(/[?#]/);
  return cut < 0 ? { url, head: url, tail: '' } : { url, head: url.slice(0, cut), tail: url.slice(cut) };
}

/** The URL without a pass-through operation (joined by upstreamUrl). */
function buildUpstreamUrl(ctx: TranslateContext, base: string | (() => string), path: string, opts: UrlOptions, preserveClientPath: boolean): BuiltUrl {
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
    else if (opts.urlIsBase && (url.pathname === '' || url.pathname === '/')) url.pathname = normalisePath(path);
    else url.pathname = normalisePath(url.pathname);
    if (!opts.query) return splitUrl(url.toString());
    out = url.toString();
  } else {
    const b = typeof base === 'string' ? base : base();
    // Plain string work: bases are our own constants or `https://{host}`; default ports are dropped as WHATWG
    // URL would.
    if (preserveClientPath) out = new URL(b).origin + normalisePath(ctx.clientPath);
    else out = stripDefaultPort(b).replace(/\/+$/, '') + normalisePath(o?.upstream_path ?? path);
    if (!opts.query) return splitUrl(out);
  }
  const url = new URL(out);
  for (const [k, v] of Object.entries(opts.query)) url.searchParams.set(k, v);
  return splitUrl(url.toString());
}

/**
 * Per-request URL work done once per target: a WHATWG parse or build costs microseconds, and a target's URL is
 * the same on every request. Remembered per `model.options` object (the config's, alive as long as its
 * target, also under a templated model.name: engine/templating.ts keeps parts without templates; a templated
 * option makes a new object per request, so that target's URL is built per request and goes with it) and,
 * within it, per route type, path and provider query. Some of those can carry the client's choices (a model named by the request in Gemini's or
 * Bedrock's path, the client's Azure api-version), so each options object's memo is bounded: a full one is
 * emptied, and hostile variety costs the build it would have cost anyway, never memory. A target without
 * options shares its provider's memo.
 */
const MEMO_PER_OPTIONS = 32;

/** One options object's URLs: by path, then route type, `urlIsBase` and provider query (JSON, or ''). */
interface UrlMemo {
  readonly byPath: Map<string, Array<{ readonly provider: string; readonly routeType: string; readonly urlIsBase: boolean; readonly query: string; readonly built: BuiltUrl }>>;
  size: number;
}

const urlMemos = new WeakMap<object, UrlMemo>();
const optionlessKeys = new Map<string, object>();

function urlMemo(options: object): UrlMemo {
  let memo = urlMemos.get(options);
  if (memo === undefined) urlMemos.set(options, (memo = { byPath: new Map(), size: 0 }));
  return memo;
}

function noOptions(provider: string): object {
  let key = optionlessKeys.get(provider);
  if (key === undefined) optionlessKeys.set(provider, (key = {}));
  return key;
}

/** Parsed URLs, by URL (client query strings vary): bounded, a full map is emptied. */
const MEMO_MAX = 1024;
/** URLs longer than this are built or parsed per request and never remembered (the memos' memory stays bounded). */
const MAX_REMEMBERED_URL = 2048;
const parsedUrls = new Map<string, UrlParts>();

function remember<V>(memo: Map<string, V>, key: string, make: () => V): V {
  // A long key carries client input: its value is made each time, so the memo's memory stays bounded by size.
  if (key.length > MAX_REMEMBERED_URL) return make();
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
