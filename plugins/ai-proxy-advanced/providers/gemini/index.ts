/**
 * Gemini driver (Kong OSS kong/llm/drivers/gemini.lua configure_request):
 *  - public API: https://generativelanguage.googleapis.com/v1beta/models/{model}:{generateContent|streamGenerateContent};
 *    the key is generic auth (`auth.param_name: key`, `param_location: query`, or an x-goog-api-key header);
 *  - Vertex AI when model.options.gemini has api_endpoint, project_id and location_id:
 *    https://{api_endpoint}/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:{op};
 *  - `auth.gcp_use_service_account`: `sign` adds `Authorization: Bearer <GCP access token>` (oauth.ts).
 * Embeddings: `:batchEmbedContents` (public) or `:predict` (Vertex), see embeddings.ts.
 */
import { UnsupportedFeatureError } from '../../errors';
import type { ProviderDriver, TranslateContext } from '../provider';
import { jsonHeaders, modelOptions } from '../translator-kit/request';
import { upstreamUrl } from '../translator-kit/url';
import { passThroughError } from '../translator-kit/response';
import { unsupportedRoute } from '../translator-kit/route';
import { fromGeminiEmbeddings, toGeminiEmbeddings } from './embeddings';
import { GcpTokenSource } from './oauth';
import { toGeminiChat } from './request';
import { fromGeminiChat } from './response';
import { createGeminiStreamTranslator } from './stream';
import { geminiNative } from './native';

const PUBLIC_BASE = 'https://generativelanguage.googleapis.com';

export function isVertex(ctx: TranslateContext): boolean {
  const g = modelOptions(ctx).gemini;
  return Boolean(g?.api_endpoint && g.project_id && g.location_id);
}

export function geminiUrl(ctx: TranslateContext, operation: string): string {
  const g = modelOptions(ctx).gemini;
  if (g?.endpoint_id && !modelOptions(ctx).upstream_url) {
    throw new UnsupportedFeatureError('model.options.gemini.endpoint_id (Vertex Model Garden endpoints) is not supported yet; set model.options.upstream_url instead');
  }
  const model = encodeURIComponent(ctx.model);
  if (g?.api_endpoint && g.project_id && g.location_id) {
    const base = /^https?:\/\//.test(g.api_endpoint) ? g.api_endpoint : `https://${g.api_endpoint}`;
    return upstreamUrl(ctx, base, `/v1/projects/${g.project_id}/locations/${g.location_id}/publishers/google/models/${model}:${operation}`);
  }
  return upstreamUrl(ctx, PUBLIC_BASE, `/v1beta/models/${model}:${operation}`);
}

const tokens = new GcpTokenSource();

export const geminiDriver: ProviderDriver = {
  name: 'gemini',
  routeTypes: ['llm/v1/chat', 'llm/v1/embeddings'],
  toRequest(body, ctx) {
    if (ctx.routeType === 'llm/v1/chat') {
      const op = ctx.stream ? 'streamGenerateContent' : 'generateContent';
      // gzip breaks Gemini streaming (gemini.lua pre_request)
      return { method: 'POST', url: geminiUrl(ctx, op), headers: { ...jsonHeaders(), 'accept-encoding': 'identity' }, body: toGeminiChat(body, ctx) };
    }
    if (ctx.routeType === 'llm/v1/embeddings') {
      const vertex = isVertex(ctx);
      return { method: 'POST', url: geminiUrl(ctx, vertex ? 'predict' : 'batchEmbedContents'), headers: jsonHeaders(), body: toGeminiEmbeddings(body, ctx, vertex) };
    }
    throw unsupportedRoute('gemini', ctx);
  },
  fromResponse(_status, _headers, body, ctx) {
    return ctx.routeType === 'llm/v1/embeddings' ? fromGeminiEmbeddings(body, ctx, undefined) : fromGeminiChat(body, ctx);
  },
  fromError: (status, headers, body) => passThroughError(status, headers, body),
  createStreamTranslator: createGeminiStreamTranslator,
  native: geminiNative,
  async sign(req, ctx, deps) {
    const auth = ctx.target.auth;
    if (!auth?.gcp_use_service_account) return req;
    const token = await tokens.token(auth, deps);
    return { ...req, headers: { ...req.headers, authorization: `Bearer ${token}` } };
  },
};
