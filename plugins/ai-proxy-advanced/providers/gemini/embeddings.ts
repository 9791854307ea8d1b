/**
 * Embeddings on Gemini. Kong OSS has no Gemini embeddings driver; the wire formats are Google's:
 *  - public API: `POST /v1beta/models/{model}:batchEmbedContents`
 *      {requests: [{model: "models/{model}", content: {parts: [{text}]}, outputDimensionality?}]} → {embeddings: [{values}]}
 *  - Vertex AI: `POST .../publishers/google/models/{model}:predict`
 *      {instances: [{content}], parameters: {outputDimensionality?}} → {predictions: [{embeddings: {values, statistics: {token_count}}}]}
 */
import { InvalidRequestError, TranslationError } from '../../errors';
import type { TranslateContext, TranslatedResponse } from '../provider';
import { type Json, modelOptions } from '../translator-kit/request';
import { arr, countWords, obj, parseJsonObject, usage } from '../translator-kit/response';

export function embeddingInputs(body: Json, provider: string): string[] {
  const input = body['input'];
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.length > 0 && input.every((s) => typeof s === 'string')) return input as string[];
  throw new InvalidRequestError(`${provider} embeddings need 'input' as a string or an array of strings (token arrays are not supported)`);
}

function dimensions(body: Json, ctx: TranslateContext): number | undefined {
  const d = body['dimensions'] ?? modelOptions(ctx).embeddings_dimensions;
  return typeof d === 'number' ? d : undefined;
}

export function toGeminiEmbeddings(body: Json, ctx: TranslateContext, vertex: boolean): Json {
  const inputs = embeddingInputs(body, 'gemini');
  const dim = dimensions(body, ctx);
  if (vertex) {
    return { instances: inputs.map((content) => ({ content })), ...(dim !== undefined ? { parameters: { outputDimensionality: dim } } : {}) };
  }
  return {
    requests: inputs.map((text) => ({
      model: `models/${ctx.model}`,
      content: { parts: [{ text }] },
      ...(dim !== undefined ? { outputDimensionality: dim } : {}),
    })),
  };
}

export function fromGeminiEmbeddings(body: Buffer, ctx: TranslateContext, requestInputs: readonly string[] | undefined): TranslatedResponse {
  const r = parseJsonObject(body, 'gemini');
  const data: Json[] = [];
  let tokens = 0;
  let counted = false;
  const public_ = arr(r['embeddings']);
  const predictions = arr(r['predictions']);
  if (public_) {
    public_.forEach((e, index) => data.push({ object: 'embedding', index, embedding: arr(obj(e)?.['values']) ?? [] }));
  } else if (predictions) {
    predictions.forEach((p, index) => {
      const emb = obj(obj(p)?.['embeddings']);
      const tc = obj(emb?.['statistics'])?.['token_count'];
      if (typeof tc === 'number') {
        tokens += tc;
        counted = true;
      }
      data.push({ object: 'embedding', index, embedding: arr(emb?.['values']) ?? [] });
    });
  } else {
    throw new TranslationError("'embeddings' or 'predictions' missing from gemini embeddings response");
  }
  if (!counted && requestInputs) tokens = requestInputs.reduce((n, s) => n + countWords(s), 0);
  const u = usage(tokens, 0, tokens);
  return { body: { object: 'list', model: ctx.model, data, usage: { prompt_tokens: u.prompt_tokens, total_tokens: u.total_tokens } }, usage: u, model: ctx.model };
}
