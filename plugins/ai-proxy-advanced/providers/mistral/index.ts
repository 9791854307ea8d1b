/**
 * `mistral` driver (Kong OSS kong/llm/drivers/mistral.lua): model.options.mistral_format `ollama` speaks
 * Ollama's API at upstream_url; `openai` speaks OpenAI's at https://api.mistral.ai:443/v1/chat/completions
 * (or upstream_url), with embeddings at /v1/embeddings and completions at upstream_url (required), through the one
 * OpenAI driver (providers/openai/).
 */
import { ConfigError } from '../../errors';
import type { ProviderDriver, TranslateContext } from '../provider';
import { toOllama } from '../ollama/request';
import { fromOllama } from '../ollama/response';
import { createOllamaStreamTranslator } from '../ollama/stream';
import { makeOpenAiStyleDriver, upstreamUrlOnly } from '../openai';
import { jsonHeaders, modelOptions } from '../translator-kit/request';
import { passThroughError } from '../translator-kit/response';
import { unsupportedRoute } from '../translator-kit/route';
import { requireUpstreamUrl } from '../translator-kit/url';

export function mistralFormat(ctx: TranslateContext): 'openai' | 'ollama' {
  const f = modelOptions(ctx).mistral_format;
  if (f === 'openai' || f === 'ollama') return f;
  throw new ConfigError('mistral targets need model.options.mistral_format (openai or ollama)');
}

const openaiFormat = makeOpenAiStyleDriver({
  name: 'mistral',
  paths: { 'llm/v1/chat': '/v1/chat/completions', 'llm/v1/embeddings': '/v1/embeddings' },
  baseUrl: () => 'https://api.mistral.ai:443',
});

/**
 * `llm/v1/completions` in `openai` format: Kong sends it through its OpenAI driver to `upstream_url`
 * (mistral.lua to_format; spec/03-plugins/38-ai-proxy/06-mistral_integration_spec.lua "good request" of
 * llm/v1/completions). Mistral's hosted API has no OpenAI completions endpoint, so there is no default URL:
 * `upstream_url` names the OpenAI-compatible server, else the target is refused naming the field.
 */
const openaiCompletions = makeOpenAiStyleDriver({
  name: 'mistral',
  paths: { 'llm/v1/completions': '/v1/completions' },
  baseUrl: upstreamUrlOnly('mistral'),
});

function openaiFor(ctx: TranslateContext): ProviderDriver {
  return ctx.routeType === 'llm/v1/completions' ? openaiCompletions : openaiFormat;
}

export const mistralDriver: ProviderDriver = {
  name: 'mistral',
  routeTypes: ['llm/v1/chat', 'llm/v1/completions', 'llm/v1/embeddings'],
  toRequest(body, ctx) {
    if (mistralFormat(ctx) === 'openai') return openaiFor(ctx).toRequest(body, ctx);
    // mistral.lua: "no transformer available to format mistral://<route>/ollama" for anything else
    if (ctx.routeType !== 'llm/v1/chat' && ctx.routeType !== 'llm/v1/completions') throw unsupportedRoute('mistral', ctx, 'mistral_format ollama');
    return { method: 'POST', url: requireUpstreamUrl(ctx, 'mistral'), headers: jsonHeaders(), body: toOllama(body, ctx) };
  },
  fromResponse(status, headers, body, ctx) {
    return mistralFormat(ctx) === 'openai' ? openaiFor(ctx).fromResponse(status, headers, body, ctx) : fromOllama(body, ctx, 'mistral');
  },
  fromError: (status, headers, body) => passThroughError(status, headers, body),
  createStreamTranslator(ctx) {
    return mistralFormat(ctx) === 'openai'
      ? openaiFor(ctx).createStreamTranslator!(ctx)
      : createOllamaStreamTranslator(ctx);
  },
};
