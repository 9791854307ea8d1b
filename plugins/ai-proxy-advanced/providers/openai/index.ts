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
import { requireUpstreamUrl, upstreamUrl } from '../translator-kit/url';
import { openAiRequest } from './request';
import { fromOpenAiBody } from './response';
import { createOpenAiSseTranslator } from './stream';

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
}

export function makeOpenAiStyleDriver(spec: OpenAiStyleSpec): ProviderDriver {
  const routeTypes = [...(Object.keys(spec.paths) as RouteType[]), 'preserve' as const];
  const supported = new Set<RouteType>(routeTypes);
  return {
    name: spec.name,
    routeTypes,
    toRequest(body, ctx) {
      if (!supported.has(ctx.routeType)) throw unsupportedRoute(spec.name, ctx);
      const q = spec.query?.(ctx);
      const url = upstreamUrl(ctx, () => spec.baseUrl(ctx.target, ctx), spec.paths[ctx.routeType] ?? '/', {
        ...(spec.upstreamUrlIsBase ? { urlIsBase: true } : {}),
        ...(q ? { query: q } : {}),
      });
      return openAiRequest(body, ctx, url);
    },
    fromResponse: (_status, _headers, body, ctx): TranslatedResponse => fromOpenAiBody(body, ctx),
    fromError: (status, headers, body) => passThroughError(status, headers, body),
    // OpenAI's own SSE: frames pass through, usage and text are collected on the way.
    createStreamTranslator: createOpenAiSseTranslator,
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

export const openaiDriver = makeOpenAiStyleDriver({
  name: 'openai',
  paths: OPENAI_PATHS,
  baseUrl: () => 'https://api.openai.com:443',
});

export const azureDriver = makeOpenAiStyleDriver({
  name: 'azure',
  paths: { 'llm/v1/chat': '/chat/completions', 'llm/v1/completions': '/completions', 'llm/v1/embeddings': '/embeddings' },
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
  paths: { 'llm/v1/chat': '/v1/chat/completions' },
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
