/** Cohere driver: https://api.cohere.com:443 `/v1/chat`, `/v1/generate`, `/v2/embed` (Kong OSS shared.lua operation_map). */
import type { ProviderDriver } from '../provider';
import { jsonHeaders } from '../translator-kit/request';
import { upstreamUrl } from '../translator-kit/url';
import { passThroughError } from '../translator-kit/response';
import { unsupportedRoute } from '../translator-kit/route';
import { toCohere, toCohereEmbeddings } from './request';
import { fromCohere, fromCohereEmbeddings } from './response';
import { createCohereStreamTranslator } from './stream';
import { cohereNative } from './native';

export const COHERE_BASE = 'https://api.cohere.com:443';
const PATH: Record<string, string> = { 'llm/v1/chat': '/v1/chat', 'llm/v1/completions': '/v1/generate', 'llm/v1/embeddings': '/v2/embed' };

export const cohereDriver: ProviderDriver = {
  name: 'cohere',
  routeTypes: ['llm/v1/chat', 'llm/v1/completions', 'llm/v1/embeddings'],
  toRequest(body, ctx) {
    const path = PATH[ctx.routeType];
    if (!path) throw unsupportedRoute('cohere', ctx);
    const out = ctx.routeType === 'llm/v1/embeddings' ? toCohereEmbeddings(body, ctx) : toCohere(body, ctx);
    return { method: 'POST', url: upstreamUrl(ctx, COHERE_BASE, path), headers: jsonHeaders(), body: out };
  },
  fromResponse(_s, _h, body, ctx) {
    return ctx.routeType === 'llm/v1/embeddings' ? fromCohereEmbeddings(body, ctx) : fromCohere(body, ctx);
  },
  fromError: (status, headers, body) => passThroughError(status, headers, body),
  createStreamTranslator: createCohereStreamTranslator,
  native: cohereNative,
};
