/**
 * One driver factory for every provider that speaks OpenAI's wire format: they differ only in base URL, paths
 * and extra query parameters (OSS kong/llm/drivers/{openai,azure,mistral,llama2}.lua configure_request share
 * this shape; DOCS ai-proxy.yaml for the 3.13/3.14 providers). Request bodies (request.ts), answers
 * (response.ts) and streams (stream.ts) are the same for all; URLs come from the one builder
 * (translator-kit/url.ts). Mistral and Llama2 use this factory for their `openai` format (mistral/, llama2/),
 * Hugging Face for its chat. Credentials come from `targets[].auth` (generic auth in the engine).
 */
import type { ProviderName, RouteType, TargetConfig } from '../../../../schemas/config';
import { ConfigError } from '../../errors';
import type { ProviderDriver, TranslateContext, TranslatedResponse } from '../provider';
import { passThroughError } from '../translator-kit/response';
import { unsupportedRoute } from '../translator-kit/route';
import { requireUpstreamUrl, upstreamUrl, type UrlOptions } from '../translator-kit/url';
import { fromPassThroughBody, passThroughRequest } from './pass-through';
import { openAiRequest } from './request';
import { fromOpenAiBody } from './response';
import { createResponsesStreamTranslator } from './responses-stream';
import { createOpenAiSseTranslator } from './stream';

export interface OpenAiStyleSpec {
  readonly name: ProviderName;
  /** Path per route type, appended to the base URL. `preserve` is always supported. */
  readonly paths: Partial<Record<RouteType, string>>;
  /**
   * Base URL (scheme://host[:port][/prefix]) when no `upstream_url` is set; throws ConfigError when it cannot.
   * Read from the target's `model.options` only: the URL builder remembers its URLs per options object and
   * route type (translator-kit/url.ts).
   */
  baseUrl(target: TargetConfig, ctx: TranslateContext): string;
  /** Query parameters the provider needs (Azure's api-version). */
  query?(ctx: TranslateContext): Record<string, string>;
  /** 3.13+ self-hosted providers: an `upstream_url` with no path gets the route type's path. */
  readonly upstreamUrlIsBase?: boolean;
  /** Route types whose path starts at the host, not under the base URL's path (Azure's files, batches, ...). */
  readonly fromHost?: ReadonlySet<RouteType>;
}

export function makeOpenAiStyleDriver(spec: OpenAiStyleSpec): ProviderDriver {
  const routeTypes = [...(Object.keys(spec.paths) as RouteType[]), 'preserve' as const];
  const supported = new Set<RouteType>(routeTypes);
  const urlOptions: UrlOptions = spec.upstreamUrlIsBase ? { urlIsBase: true } : {};
  const urlOf = (ctx: TranslateContext, query?: Record<string, string>): string =>
    upstreamUrl(ctx, () => spec.baseUrl(ctx.target, ctx), spec.paths[ctx.routeType] ?? '/', query ? { urlIsBase: urlOptions.urlIsBase, query } : urlOptions);
  return {
    name: spec.name,
    routeTypes,
    toRequest(body, ctx) {
      if (!supported.has(ctx.routeType)) throw unsupportedRoute(spec.name, ctx);
      const q = spec.query?.(ctx);
      if (ctx.passThrough) {
        const base = spec.fromHost?.has(ctx.routeType) ? () => new URL(spec.baseUrl(ctx.target, ctx)).origin : () => spec.baseUrl(ctx.target, ctx);
        return passThroughRequest(ctx, base, spec.paths[ctx.routeType] ?? '/', q);
      }
      return openAiRequest(body, ctx, urlOf(ctx, q));
    },
    fromResponse: (_status, headers, body, ctx): TranslatedResponse =>
      ctx.passThrough ? fromPassThroughBody(headers, body) : fromOpenAiBody(body, ctx),
    fromError: (status, headers, body) => passThroughError(status, headers, body),
    // OpenAI's own SSE: frames pass through, usage and text are collected on the way.
    createStreamTranslator: (ctx) => (ctx.routeType === 'llm/v1/responses' ? createResponsesStreamTranslator(ctx) : createOpenAiSseTranslator(ctx)),
  };
}

/** Base URL of a self-hosted provider: there is none, `upstream_url` must be set. */
export function upstreamUrlOnly(provider: string): (t: TargetConfig, ctx: TranslateContext) => string {
  return (_t, ctx) => requireUpstreamUrl(ctx, provider);
}

export const OPENAI_PATHS = {
  'llm/v1/chat': '/v1/chat/completions',
  'llm/v1/completions': '/v1/completions',
  'llm/v1/embeddings': '/v1/embeddings',
} as const;

/**
 * The OpenAI API's other route types (engine/route-types, providers/openai/pass-through.ts), at the paths of
 * the OpenAI API reference (Kong's provider table, ai-proxy.yaml, lists the same; for video it names Sora's
 * `/v1/videos` API only loosely).
 */
export const OPENAI_API_PATHS = {
  'llm/v1/files': '/v1/files',
  'llm/v1/batches': '/v1/batches',
  'llm/v1/assistants': '/v1/assistants',
  'llm/v1/responses': '/v1/responses',
  'audio/v1/audio/speech': '/v1/audio/speech',
  'audio/v1/audio/transcriptions': '/v1/audio/transcriptions',
  'audio/v1/audio/translations': '/v1/audio/translations',
  'image/v1/images/generations': '/v1/images/generations',
  'image/v1/images/edits': '/v1/images/edits',
  'video/v1/videos/generations': '/v1/videos',
} as const;

export const openaiDriver = makeOpenAiStyleDriver({
  name: 'openai',
  paths: { ...OPENAI_PATHS, ...OPENAI_API_PATHS },
  baseUrl: () => 'https://api.openai.com:443',
});

/**
 * Azure OpenAI: model calls under the deployment (`/openai/deployments/{id}/audio/speech`, ...), the account's
 * resources and the v1 API from the host (`/openai/files`, `/openai/batches`, `/openai/assistants`,
 * `/openai/v1/responses` and `/openai/v1/videos`, which take `api-version=preview`), as Azure's REST reference
 * and Kong's provider table place them.
 */
export const azureDriver = makeOpenAiStyleDriver({
  name: 'azure',
  paths: {
    'llm/v1/chat': '/chat/completions',
    'llm/v1/completions': '/completions',
    'llm/v1/embeddings': '/embeddings',
    'llm/v1/files': '/openai/files',
    'llm/v1/batches': '/openai/batches',
    'llm/v1/assistants': '/openai/assistants',
    'llm/v1/responses': '/openai/v1/responses',
    'audio/v1/audio/speech': '/audio/speech',
    'audio/v1/audio/transcriptions': '/audio/transcriptions',
    'audio/v1/audio/translations': '/audio/translations',
    'image/v1/images/generations': '/images/generations',
    'image/v1/images/edits': '/images/edits',
    'video/v1/videos/generations': '/openai/v1/videos',
  },
  fromHost: new Set<RouteType>(['llm/v1/files', 'llm/v1/batches', 'llm/v1/assistants', 'llm/v1/responses', 'video/v1/videos/generations']),
  baseUrl: (t) => {
    const o = t.model.options;
    if (!o?.azure_instance) throw new ConfigError('must set model.options.azure_instance for azure provider');
    if (!o.azure_deployment_id) throw new ConfigError('must set model.options.azure_deployment_id for azure provider');
    return `https://${o.azure_instance}.openai.azure.com:443/openai/deployments/${o.azure_deployment_id}`;
  },
  // Kong: the client's api-version wins, else the configured one (azure.lua configure_request).
  query: (ctx) => {
    const client = ctx.clientQuery['api-version'];
    const v = (Array.isArray(client) ? client[0] : client) ?? ctx.target.model.options?.azure_api_version ?? '2023-05-15';
    return { 'api-version': v };
  },
});

export const vllmDriver = makeOpenAiStyleDriver({
  name: 'vllm',
  paths: OPENAI_PATHS,
  baseUrl: upstreamUrlOnly('vllm'),
  upstreamUrlIsBase: true,
});

export const deepseekDriver = makeOpenAiStyleDriver({
  name: 'deepseek',
  paths: { 'llm/v1/chat': '/v1/chat/completions' },
  baseUrl: () => 'https://api.deepseek.com',
  upstreamUrlIsBase: true,
});

export const xaiDriver = makeOpenAiStyleDriver({
  name: 'xai',
  paths: { 'llm/v1/chat': '/v1/chat/completions', 'llm/v1/responses': '/v1/responses', 'image/v1/images/generations': '/v1/images/generations' },
  baseUrl: () => 'https://api.x.ai:443',
  upstreamUrlIsBase: true,
});

export const cerebrasDriver = makeOpenAiStyleDriver({
  name: 'cerebras',
  paths: { 'llm/v1/chat': '/v1/chat/completions' },
  baseUrl: () => 'https://api.cerebras.ai',
  upstreamUrlIsBase: true,
});

export const dashscopeDriver = makeOpenAiStyleDriver({
  name: 'dashscope',
  paths: { 'llm/v1/chat': '/compatible-mode/v1/chat/completions', 'llm/v1/embeddings': '/compatible-mode/v1/embeddings' },
  baseUrl: (t) =>
    t.model.options?.dashscope?.international === false ? 'https://dashscope.aliyuncs.com' : 'https://dashscope-intl.aliyuncs.com',
  upstreamUrlIsBase: true,
});

export const databricksDriver = makeOpenAiStyleDriver({
  name: 'databricks',
  paths: { 'llm/v1/chat': '/serving-endpoints/v1/chat/completions' },
  baseUrl: (t) => {
    const id = t.model.options?.databricks?.workspace_instance_id;
    if (!id) throw new ConfigError('must set model.options.databricks.workspace_instance_id for databricks provider');
    return `https://${id}.cloud.databricks.com:443`;
  },
  upstreamUrlIsBase: true,
});
