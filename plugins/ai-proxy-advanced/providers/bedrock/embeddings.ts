/**
 * Embeddings on Bedrock (InvokeModel `/model/{model}/invoke`; Kong OSS has none, formats are AWS's):
 *  - Amazon Titan Text Embeddings: {inputText, dimensions?, normalize?} → {embedding, inputTextTokenCount}; one input per call;
 *  - Cohere Embed (`cohere.embed-*`): {texts, input_type} → {embeddings: [[...]]}.
 */
import { InvalidRequestError, TranslationError } from '../../errors';
import type { TranslateContext, TranslatedResponse } from '../provider';
import { embeddingInputs } from '../gemini/embeddings';
import { type Json, modelOptions } from '../translator-kit/request';
import { arr, obj, parseJsonObject, usage } from '../translator-kit/response';

const isCohere = (model: string): boolean => /(^|\.)cohere\.embed/.test(model);

export function toBedrockEmbeddings(body: Json, ctx: TranslateContext): Json {
  const inputs = embeddingInputs(body, 'bedrock');
  const o = modelOptions(ctx);
  if (isCohere(ctx.model)) {
    return { texts: inputs, input_type: o.cohere?.embedding_input_type === 'search_query' ? 'search_query' : 'search_document' };
  }
  if (inputs.length !== 1) throw new InvalidRequestError(`Bedrock model '${ctx.model}' embeds one input per request; got ${inputs.length}`);
  const dim = body['dimensions'] ?? o.embeddings_dimensions;
  const out: Json = { inputText: inputs[0] };
  if (typeof dim === 'number') out['dimensions'] = dim;
  if (o.bedrock?.embeddings_normalize) out['normalize'] = true;
  return out;
}

export function fromBedrockEmbeddings(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const r = parseJsonObject(body, 'bedrock');
  let vectors: unknown[];
  if (arr(r['embedding'])) vectors = [r['embedding']];
  else if (arr(r['embeddings'])) vectors = arr(r['embeddings'])!;
  else if (obj(r['embeddings']) && arr(obj(r['embeddings'])!['float'])) vectors = arr(obj(r['embeddings'])!['float'])!;
  else throw new TranslationError("'embedding' or 'embeddings' missing from bedrock embeddings response");
  const tokens = typeof r['inputTextTokenCount'] === 'number' ? r['inputTextTokenCount'] : 0;
  const u = usage(tokens, 0, tokens);
  return {
    body: { object: 'list', model: ctx.model, data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })), usage: { prompt_tokens: tokens, total_tokens: tokens } },
    usage: u,
    model: ctx.model,
  };
}
