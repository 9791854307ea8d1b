/**
 * `mistral` driver (Kong OSS kong/llm/drivers/mistral.lua): model.options.mistral_format `ollama` speaks
 * Ollama's API at upstream_url; `openai` speaks OpenAI's at https://api.mistral.ai:443/v1/chat/completions
 * (or upstream_url), with embeddings at /v1/embeddings. translated.ts hands the openai format to the engine's
 * OpenAI-compatible mistral driver when one is registered.
 */
import { ConfigError } from '../../errors';
import type { ProviderDriver, TranslateContext } from '../provider';
import { fromOllama, handleOllamaEvent, toOllama } from '../ollama/format';
import { NdjsonFramer } from '../streams/ndjson';
import { createOpenAiSseTranslator } from '../streams/openai-sse';
import { createEventStreamTranslator, kindOf } from '../streams/translator';
import { fromOpenAiResponse, openAiRequest } from '../translator-kit/openai-format';
import { jsonHeaders, modelOptions, requireUpstreamUrl, upstreamUrl } from '../translator-kit/request';
import { passThroughError } from '../translator-kit/response';
import { unsupportedRoute } from '../translator-kit/route';

const BASE = 'https://api.mistral.ai:443';
const OPENAI_PATH: Record<string, string> = { 'llm/v1/chat': '/v1/chat/completions', 'llm/v1/embeddings': '/v1/embeddings' };

export function mistralFormat(ctx: TranslateContext): 'openai' | 'ollama' {
  const f = modelOptions(ctx).mistral_format;
  if (f === 'openai' || f === 'ollama') return f;
  throw new ConfigError('mistral targets need model.options.mistral_format (openai or ollama)');
}

export const mistralDriver: ProviderDriver = {
  name: 'mistral',
  routeTypes: ['llm/v1/chat', 'llm/v1/completions', 'llm/v1/embeddings'],
  toRequest(body, ctx) {
    if (mistralFormat(ctx) === 'ollama') {
      // mistral.lua: "no transformer available to format mistral://<route>/ollama" for anything else
      if (ctx.routeType !== 'llm/v1/chat' && ctx.routeType !== 'llm/v1/completions') throw unsupportedRoute('mistral', ctx, 'mistral_format ollama');
      return { method: 'POST', url: requireUpstreamUrl(ctx, 'mistral'), headers: jsonHeaders(), body: toOllama(body, ctx) };
    }
    const path = OPENAI_PATH[ctx.routeType];
    if (!path) throw unsupportedRoute('mistral', ctx, 'mistral_format openai');
    return openAiRequest(body, ctx, upstreamUrl(ctx, BASE, path));
  },
  fromResponse(_s, _h, body, ctx) {
    return mistralFormat(ctx) === 'ollama' ? fromOllama(body, ctx, 'mistral') : fromOpenAiResponse(body, ctx, 'mistral');
  },
  fromError: (status, headers, body) => passThroughError(status, headers, body),
  createStreamTranslator(ctx) {
    return mistralFormat(ctx) === 'ollama'
      ? createEventStreamTranslator(ctx, kindOf(ctx), new NdjsonFramer(), handleOllamaEvent)
      : createOpenAiSseTranslator(ctx);
  },
};
