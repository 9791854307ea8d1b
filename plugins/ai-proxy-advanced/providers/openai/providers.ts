/**
 * The OpenAI-compatible providers as small compositions of the OpenAI driver: default URLs and paths per
 * spec §2.8 (OSS kong/llm/drivers/shared.lua upstream_url_format / operation_map for openai, azure, mistral,
 * llama2; DOCS ai-proxy.yaml for the 3.13/3.14 providers). Hugging Face (its chat included) and the
 * non-OpenAI formats of mistral/llama2 are the translated drivers' (providers/translated.ts routes
 * `mistral_format`/`llama2_format: openai` here). Credentials come from `targets[].auth`
 * (generic header / query / body auth in the engine).
 */
import type { ProviderName, TargetConfig } from '../../../../schemas/config';
import { ConfigError, UnsupportedFeatureError } from '../../errors';
import type { ProviderDriver } from '../provider';
import { makeOpenAiStyleDriver } from './driver';

const OPENAI_PATHS = {
  'llm/v1/chat': '/v1/chat/completions',
  'llm/v1/completions': '/v1/completions',
  'llm/v1/embeddings': '/v1/embeddings',
} as const;

function requireUpstreamUrl(provider: string): (t: TargetConfig) => string {
  return (t) => {
    const u = t.model.options?.upstream_url;
    if (!u) throw new ConfigError(`must set model.options.upstream_url for ${provider} provider`);
    return u;
  };
}

function requireOpenAiFormat(option: 'mistral_format' | 'llama2_format', provider: string): (t: TargetConfig) => void {
  return (t) => {
    const f = t.model.options?.[option];
    if (f !== 'openai') {
      throw new UnsupportedFeatureError(`${provider} with model.options.${option} '${f ?? ''}' is not supported by this version of ai-proxy-advanced (only 'openai')`);
    }
  };
}

export const openai = makeOpenAiStyleDriver({
  name: 'openai',
  paths: OPENAI_PATHS,
  baseUrl: () => 'https://api.openai.com:443',
});

export const azure = makeOpenAiStyleDriver({
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

export const mistral = makeOpenAiStyleDriver({
  name: 'mistral',
  paths: { 'llm/v1/chat': '/v1/chat/completions', 'llm/v1/embeddings': '/v1/embeddings' },
  baseUrl: () => 'https://api.mistral.ai:443',
  check: requireOpenAiFormat('mistral_format', 'mistral'),
});

export const llama2 = makeOpenAiStyleDriver({
  name: 'llama2',
  paths: { 'llm/v1/chat': '/v1/chat/completions', 'llm/v1/completions': '/v1/completions', 'llm/v1/embeddings': '/v1/embeddings' },
  baseUrl: requireUpstreamUrl('llama2'),
  check: requireOpenAiFormat('llama2_format', 'llama2'),
});

export const vllm = makeOpenAiStyleDriver({
  name: 'vllm',
  paths: OPENAI_PATHS,
  baseUrl: requireUpstreamUrl('vllm'),
  upstreamUrlIsBase: true,
});

export const deepseek = makeOpenAiStyleDriver({
  name: 'deepseek',
  paths: { 'llm/v1/chat': '/v1/chat/completions' },
  baseUrl: () => 'https://api.deepseek.com',
  upstreamUrlIsBase: true,
});

export const xai = makeOpenAiStyleDriver({
  name: 'xai',
  paths: { 'llm/v1/chat': '/v1/chat/completions' },
  baseUrl: () => 'https://api.x.ai:443',
  upstreamUrlIsBase: true,
});

export const cerebras = makeOpenAiStyleDriver({
  name: 'cerebras',
  paths: { 'llm/v1/chat': '/v1/chat/completions' },
  baseUrl: () => 'https://api.cerebras.ai',
  upstreamUrlIsBase: true,
});

export const dashscope = makeOpenAiStyleDriver({
  name: 'dashscope',
  paths: { 'llm/v1/chat': '/compatible-mode/v1/chat/completions', 'llm/v1/embeddings': '/compatible-mode/v1/embeddings' },
  baseUrl: (t) =>
    t.model.options?.dashscope?.international === false ? 'https://dashscope.aliyuncs.com' : 'https://dashscope-intl.aliyuncs.com',
  upstreamUrlIsBase: true,
});

export const databricks = makeOpenAiStyleDriver({
  name: 'databricks',
  paths: { 'llm/v1/chat': '/serving-endpoints/v1/chat/completions' },
  baseUrl: (t) => {
    const id = t.model.options?.databricks?.workspace_instance_id;
    if (!id) throw new ConfigError('must set model.options.databricks.workspace_instance_id for databricks provider');
    return `https://${id}.cloud.databricks.com:443`;
  },
  upstreamUrlIsBase: true,
});

export const OPENAI_STYLE_DRIVERS: Partial<Record<ProviderName, ProviderDriver>> = {
  openai,
  azure,
  mistral,
  llama2,
  vllm,
  deepseek,
  xai,
  cerebras,
  dashscope,
  databricks,
};
