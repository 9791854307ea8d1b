/**
 * `ollama` provider (Kong 3.14): Ollama's native API at model.options.upstream_url. A bare host URL gets the
 * route's API path: /api/chat, /api/generate, /api/embed.
 */
import type { ProviderDriver, TranslateContext } from '../provider';
import { embeddingInputs } from '../gemini/embeddings';
import { jsonHeaders } from '../translator-kit/request';
import { passThroughError } from '../translator-kit/response';
import { unsupportedRoute } from '../translator-kit/route';
import { requireUpstreamUrl, upstreamUrl } from '../translator-kit/url';
import { toOllama } from './request';
import { fromOllama, fromOllamaEmbeddings } from './response';
import { createOllamaStreamTranslator } from './stream';

const API_PATH: Record<string, string> = { 'llm/v1/chat': '/api/chat', 'llm/v1/completions': '/api/generate', 'llm/v1/embeddings': '/api/embed' };

export function ollamaUrl(ctx: TranslateContext, provider: string): string {
  requireUpstreamUrl(ctx, provider);
  return upstreamUrl(ctx, '', API_PATH[ctx.routeType] ?? '/', { urlIsBase: true });
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
    return ctx.routeType === 'llm/v1/embeddings' ? fromOllamaEmbeddings(body, ctx) : fromOllama(body, ctx, 'ollama');
  },
  fromError: (status, headers, body) => passThroughError(status, headers, body),
  createStreamTranslator: createOllamaStreamTranslator,
};
