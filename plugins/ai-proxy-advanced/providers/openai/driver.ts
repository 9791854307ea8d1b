/**
 * One factory for every provider that speaks OpenAI's wire format: they differ only in base URL, paths, extra
 * query parameters and which `*_format` option must be `openai` (OSS kong/llm/drivers/{openai,azure,mistral,
 * llama2}.lua configure_request share this shape). URL rules, as Kong:
 *  - `model.options.upstream_url` is used as is (leading slashes of the path collapsed to one);
 *  - otherwise base URL + (`upstream_path` or the route type's path, or `/`);
 *  - `preserve` without `upstream_path` sends the client's path (shared.lua override_upstream_url);
 *  - the client's query string is forwarded by the engine, as nginx would.
 */
import type { ProviderName, RouteType, TargetConfig } from '../../../../schemas/config';
import { ConfigError, UnsupportedFeatureError } from '../../errors';
import type { ClientErrorResponse, ProviderDriver, TranslateContext, TranslatedResponse, UpstreamRequest } from '../provider';
import { createOpenAiSseTranslator } from '../streams/openai-sse';
import { fromOpenAiBody, toOpenAiBody } from './format';

export interface OpenAiStyleSpec {
  readonly name: ProviderName;
  /** Path per route type, appended to the base URL. `preserve` is always supported. */
  readonly paths: Partial<Record<RouteType, string>>;
  /** Base URL (scheme://host[:port][/prefix]) when no `upstream_url` is set; throws ConfigError when it cannot. */
  baseUrl(target: TargetConfig, ctx: TranslateContext): string;
  /** Query parameters the provider needs (Azure's api-version). */
  query?(ctx: TranslateContext): Record<string, string>;
  /** 3.13+ self-hosted providers: an `upstream_url` with no path gets the route type's path. */
  readonly upstreamUrlIsBase?: boolean;
  /** Rejects targets this driver cannot serve (mistral/llama2 formats other than openai). */
  check?(target: TargetConfig): void;
  /** Whole-URL override, for a provider whose URL is built from the model name. */
  url?(ctx: TranslateContext): string;
  /** Body transformation override (defaults to the OpenAI pass-through with config defaults). */
  toBody?(body: Record<string, unknown>, ctx: TranslateContext): Record<string, unknown>;
  fromBody?(body: Buffer, ctx: TranslateContext): TranslatedResponse;
}

function collapseSlashes(path: string): string {
  return path.replace(/^\/*/, '/');
}

export function buildUrl(spec: OpenAiStyleSpec, ctx: TranslateContext): string {
  if (spec.url) return spec.url(ctx);
  const options = ctx.target.model.options;
  const routePath = spec.paths[ctx.routeType];
  const preserveClientPath = ctx.routeType === 'preserve' && !options?.upstream_path;
  let url: URL;
  if (options?.upstream_url) {
    try {
      url = new URL(options.upstream_url);
    } catch {
      throw new ConfigError(`model.options.upstream_url '${options.upstream_url}' is not a valid URL`);
    }
    if (preserveClientPath) url.pathname = ctx.clientPath;
    else if (spec.upstreamUrlIsBase && (url.pathname === '' || url.pathname === '/') && routePath) url.pathname = routePath;
    else url.pathname = collapseSlashes(url.pathname);
  } else {
    const base = spec.baseUrl(ctx.target, ctx);
    const path = preserveClientPath ? ctx.clientPath : (options?.upstream_path ?? routePath ?? '/');
    url = new URL(preserveClientPath ? new URL(base).origin : base.replace(/\/+$/, ''));
    url.pathname = collapseSlashes(preserveClientPath ? path : url.pathname.replace(/\/+$/, '') + collapseSlashes(path));
  }
  const q = spec.query?.(ctx);
  if (q) for (const [k, v] of Object.entries(q)) url.searchParams.set(k, v);
  return url.toString();
}

export function makeOpenAiStyleDriver(spec: OpenAiStyleSpec): ProviderDriver {
  const routeTypes = [...(Object.keys(spec.paths) as RouteType[]), 'preserve' as const];
  const supported = new Set<RouteType>(routeTypes);
  return {
    name: spec.name,
    routeTypes,
    toRequest(body, ctx): UpstreamRequest {
      if (!supported.has(ctx.routeType)) {
        throw new UnsupportedFeatureError(`route_type '${ctx.routeType}' is not supported for provider '${spec.name}'`);
      }
      spec.check?.(ctx.target);
      const url = buildUrl(spec, ctx);
      if (ctx.routeType === 'preserve') {
        // Kong leaves a preserve body untouched; returning the same object lets the engine send the client's bytes.
        return { method: ctx.clientMethod, url, headers: { 'content-type': 'application/json' }, body };
      }
      const out = spec.toBody ? spec.toBody(body, ctx) : toOpenAiBody(body, ctx);
      return { method: 'POST', url, headers: { 'content-type': 'application/json' }, body: out };
    },
    fromResponse(_status, _headers, body, ctx): TranslatedResponse {
      return spec.fromBody ? spec.fromBody(body, ctx) : fromOpenAiBody(body, ctx);
    },
    fromError(status, headers, body): ClientErrorResponse {
      const h: Record<string, string> = {};
      const ct = headers['content-type'];
      if (ct !== undefined) h['content-type'] = ct;
      return { status, headers: h, body };
    },
    // OpenAI's own SSE: frames pass through, usage and text are collected on the way.
    createStreamTranslator: createOpenAiSseTranslator,
  };
}
