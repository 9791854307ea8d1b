/**
 * `llama2` driver: self-hosted, model.options.upstream_url required (Kong OSS llama2.lua configure_request),
 * body format from model.options.llama2_format: raw (raw.ts), ollama (../ollama/format.ts) or openai.
 */
import { ConfigError } from '../../errors';
import type { ProviderDriver, TranslateContext } from '../provider';
import { createOpenAiSseTranslator } from '../streams/openai-sse';
import { NdjsonFramer } from '../streams/ndjson';
import { SseFramer } from '../streams/sse';
import { createEventStreamTranslator, kindOf } from '../streams/translator';
import { fromOllama, handleOllamaEvent, toOllama } from '../ollama/format';
import { fromOpenAiResponse, openAiRequest } from '../translator-kit/openai-format';
import { jsonHeaders, modelOptions, requireUpstreamUrl } from '../translator-kit/request';
import { passThroughError } from '../translator-kit/response';
import { unsupportedRoute } from '../translator-kit/route';
import { fromLlama2Raw, handleTgiEvent, toLlama2Raw } from './raw';

function format(ctx: TranslateContext): 'raw' | 'ollama' | 'openai' {
  const f = modelOptions(ctx).llama2_format;
  if (f === 'raw' || f === 'ollama' || f === 'openai') return f;
  throw new ConfigError('llama2 targets need model.options.llama2_format (raw, ollama or openai)');
}

function checkRoute(ctx: TranslateContext): void {
  const f = format(ctx);
  const ok = ctx.routeType === 'llm/v1/chat' || ctx.routeType === 'llm/v1/completions' || (f !== 'raw' && ctx.routeType === 'llm/v1/embeddings');
  if (!ok) throw unsupportedRoute('llama2', ctx, `llama2_format ${f}`);
}

export const llama2Driver: ProviderDriver = {
  name: 'llama2',
  routeTypes: ['llm/v1/chat', 'llm/v1/completions', 'llm/v1/embeddings'],
  toRequest(body, ctx) {
    checkRoute(ctx);
    const url = requireUpstreamUrl(ctx, 'llama2');
    switch (format(ctx)) {
      case 'raw':
        return { method: 'POST', url, headers: jsonHeaders(), body: toLlama2Raw(body, ctx) };
      case 'ollama':
        if (ctx.routeType === 'llm/v1/embeddings') return { method: 'POST', url, headers: jsonHeaders(), body: { model: ctx.model, input: body['input'] } };
        return { method: 'POST', url, headers: jsonHeaders(), body: toOllama(body, ctx) };
      case 'openai':
        return openAiRequest(body, ctx, url);
    }
  },
  fromResponse(_s, _h, body, ctx) {
    switch (format(ctx)) {
      case 'raw':
        return fromLlama2Raw(body, ctx);
      case 'ollama':
        return fromOllama(body, ctx, 'llama2');
      case 'openai':
        return fromOpenAiResponse(body, ctx, 'llama2');
    }
  },
  fromError: (status, headers, body) => passThroughError(status, headers, body),
  createStreamTranslator(ctx) {
    switch (format(ctx)) {
      case 'raw':
        return createEventStreamTranslator(ctx, kindOf(ctx), new SseFramer(), handleTgiEvent);
      case 'ollama':
        return createEventStreamTranslator(ctx, kindOf(ctx), new NdjsonFramer(), handleOllamaEvent);
      case 'openai':
        return createOpenAiSseTranslator(ctx);
    }
  },
};
