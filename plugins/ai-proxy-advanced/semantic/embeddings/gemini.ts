/**
 * Gemini embeddings (Google's wire formats; Kong OSS has no Gemini embeddings driver):
 * - public API `POST /v1beta/models/{model}:embedContent` `{content: {parts: [{text}]}, outputDimensionality}` →
 *   `embedding.values`, auth by `embeddings.auth` (param `key` in the query, or a header);
 * - Vertex AI when `options.gemini` names `api_endpoint`/`project_id`/`location_id`:
 *   `POST https://{api_endpoint}/v1/projects/{p}/locations/{l}/publishers/google/models/{model}:predict`
 *   `{instances: [{content}], parameters: {outputDimensionality}}` → `predictions[0].embeddings.values`, with a
 *   GCP access token from `auth.gcp_service_account_json` (or the metadata server) when `auth.gcp_use_service_account`.
 */
import { ConfigError } from '../../errors';
import { GcpTokenSource } from '../../providers/gemini/oauth';
import { dig, type EmbeddingsDriver, type EmbeddingsModel } from './driver';

const tokens = new GcpTokenSource();

function vertex(model: EmbeddingsModel): boolean {
  const g = model.options?.gemini;
  return !!(g?.api_endpoint || g?.project_id || g?.location_id);
}

export const gemini: EmbeddingsDriver = {
  defaultUrl(model) {
    const name = encodeURIComponent(model.name);
    if (!vertex(model)) return `https://generativelanguage.googleapis.com/v1beta/models/${name}:embedContent`;
    const g = model.options?.gemini;
    if (!g?.api_endpoint || !g.project_id || !g.location_id) {
      throw new ConfigError('embeddings.model.options.gemini needs api_endpoint, project_id and location_id together for Vertex AI');
    }
    // api_endpoint is a hostname only (schema text); refuse anything that would change the path or authority.
    if (!/^[A-Za-z0-9.-]+(:\d+)?$/.test(g.api_endpoint)) throw new ConfigError('embeddings.model.options.gemini.api_endpoint must be a hostname');
    return `https://${g.api_endpoint}/v1/projects/${encodeURIComponent(g.project_id)}/locations/${encodeURIComponent(g.location_id)}/publishers/google/models/${name}:predict`;
  },
  body(text, model, dimensions) {
    if (vertex(model)) return { instances: [{ content: text }], parameters: { outputDimensionality: dimensions } };
    return { content: { parts: [{ text }] }, outputDimensionality: dimensions };
  },
  vector: (answer) => dig(answer, 'embedding', 'values') ?? dig(answer, 'predictions', 0, 'embeddings', 'values'),
  async sign(req, config, deps) {
    const auth = config.auth;
    if (!auth?.gcp_use_service_account) return req;
    const token = await tokens.token(auth, deps);
    return { ...req, headers: { ...req.headers, authorization: `Bearer ${token}` } };
  },
};
