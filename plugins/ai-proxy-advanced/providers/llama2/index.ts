/**
 * `llama2` driver: self-hosted, model.options.upstream_url required (Kong OSS llama2.lua configure_request),
 * body format from model.options.llama2_format: raw (request.ts, response.ts, types.ts), ollama (../ollama/) or openai (the one
 * OpenAI driver, providers/openai/).
 */
import { ConfigError } from '../../errors';
import type { ProviderDriver, TranslateContext } from '../provider';
import { toOllama } from '../ollama/request';
import { fromOllama } from '../ollama/response';
import { makeOpenAiStyleDriver, upstreamUrlOnly } from '../openai';
import { jsonHeaders, modelOptions } from '../translator-kit/request';
import { passThroughError } from '../translator-kit/response';
import { unsupportedRoute } from '../translator-kit/route';
import { requireUpstreamUrl } from '../translator-kit/url';
import { toLlama2Raw } from './request';
import { fromLlama2Raw } from './response';
import { createLlama2StreamTranslator } from './stream';

function format(ctx: TranslateContext): 'raw' | 'ollama' | 'openai' {
  const f = modelOptions(ctx).llama2_format;
  if (f === 'raw' || f === 'ollama' || f === 'openai') return f;
  throw new ConfigError('llama2 targets need model.options.llama2_format (raw, ollama or openai)');
}

/** `llama2_format: openai`: the one OpenAI driver at `upstream_url` (used as is, as Kong's llama2.lua does). */
const openaiFormat = makeOpenAiStyleDriver({
  name: 'llama2',
  paths: { 'llm/v1/chat': '/v1/chat/completions', 'llm/v1/completions': '/v1/completions', 'llm/v1/embeddings': '/v1/embeddings' },
  baseUrl: upstreamUrlOnly('llama2'),
});

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
        return openaiFormat.toRequest(body, ctx);
    }
  },
  fromResponse(status, headers, body, ctx) {
    switch (format(ctx)) {
      case 'raw':
        return fromLlama2Raw(body, ctx);
      case 'ollama':
        return fromOllama(body, ctx, 'llama2');
      case 'openai':
        return openaiFormat.fromResponse(status, headers, body, ctx);
    }
  },
  fromError: (status, headers, body) => passThroughError(status, headers, body),
  createStreamTranslator(ctx) {
    const f = format(ctx);
    switch (f) {
      case 'raw':
      case 'ollama':
        return createLlama2StreamTranslator(ctx, f);
      case 'openai':
        return openaiFormat.createStreamTranslator!(ctx);
    }
  },
};
