/**
 * `ollama` provider (Kong 3.14): Ollama's native API at model.options.upstream_url. A bare host URL gets the
 * route's API path: /api/chat, /api/generate, /api/embed.
 */
import type { ProviderDriver, TranslateContext } from '../provider';
import { NdjsonFramer } from '../streams/ndjson';
import { createEventStreamTranslator, kindOf } from '../streams/translator';
import { embeddingInputs } from '../gemini/embeddings';
import { jsonHeaders } from '../translator-kit/request';
import { requireUpstreamUrl } from '../translator-kit/url';
import { arr, parseJsonObject, passThroughError, usage } from '../translator-kit/response';
import { TranslationError } from '../../errors';
import { unsupportedRoute } from '../translator-kit/route';
import { fromOllama, handleOllamaEvent, toOllama } from './format';

const API_PATH: Record<string, string> = { 'llm/v1/chat': '/api/chat', 'llm/v1/completions': '/api/generate', 'llm/v1/embeddings': '/api/embed' };

export function ollamaUrl(ctx: TranslateContext, provider: string): string {
  const u = new URL(requireUpstreamUrl(ctx, provider));
  if (u.pathname === '/' || u.pathname === '') u.pathname = API_PATH[ctx.routeType] ?? '/';
  return u.toString();
}

export const ollamaDriver: ProviderDriver = {
  name: 'ollama',
  routeTypes: ['llm/v1/chat', 'llm/v1/completions', 'llm/v1/embeddings'],
  toRequest(body, ctx) {
    if (ctx.routeType === 'llm/v1/embeddings') {
      return { method: 'POST', url: ollamaUrl(ctx, 'ollama'), headers: jsonHeaders(), body: { model: ctx.model, input: embeddingInputs(body, 'ollama') } };
    }
    if (ctx.routeType !== 'llm/v1/chat' && ctx.routeType !== 'llm/v1/completions') throw unsupportedRoute('ollama', ctx);
    return { method: 'POST', url: ollamaUrl(ctx, 'ollama'), headers: jsonHeaders(), body: toOllama(body, ctx) };
  },
  fromResponse(_s, _h, body, ctx) {
    if (ctx.routeType !== 'llm/v1/embeddings') return fromOllama(body, ctx, 'ollama');
    const r = parseJsonObject(body, 'ollama');
    const vectors = arr(r['embeddings']);
    if (!vectors) throw new TranslationError("'embeddings' missing from ollama embeddings response");
    const tokens = usage(r['prompt_eval_count'] ?? 0, 0);
    const data = vectors.map((embedding, index) => ({ object: 'embedding', index, embedding }));
    const model = typeof r['model'] === 'string' ? r['model'] : ctx.model;
    return { body: { object: 'list', model, data, usage: { prompt_tokens: tokens.prompt_tokens, total_tokens: tokens.total_tokens } }, usage: tokens, model };
  },
  fromError: (status, headers, body) => passThroughError(status, headers, body),
  createStreamTranslator(ctx) {
    return createEventStreamTranslator(ctx, kindOf(ctx), new NdjsonFramer(), handleOllamaEvent);
  },
};
