/**
 * Hugging Face feature extraction (Inference API `POST /models/{model}` with `{inputs, options}`): one vector per
 * input, or a flat vector for a single string. Token-level outputs (one vector per token) are refused by name:
 * pooling them is the model's job, not the gateway's.
 */
import { TranslationError } from '../../errors';
import type { TranslateContext, TranslatedResponse } from '../provider';
import { embeddingInputs } from '../gemini/embeddings';
import type { Json } from '../translator-kit/request';
import { arr, parseJson } from '../translator-kit/response';
import { hfApiError, hfOptions } from './completions';

export function toHfEmbeddings(body: Json, ctx: TranslateContext): Json {
  return { inputs: embeddingInputs(body, 'huggingface'), options: hfOptions(ctx) };
}

const isVector = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number');

export function fromHfEmbeddings(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const r = parseJson(body, 'huggingface');
  const err = hfApiError(r);
  if (err) throw new TranslationError(`API error: ${err}`);
  const list = arr(r);
  let vectors: number[][];
  if (isVector(list)) vectors = [list];
  else if (list && list.every(isVector)) vectors = list as number[][];
  else throw new TranslationError('huggingface feature-extraction answered token-level or unknown output; use a sentence-embedding model');
  const usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  return {
    body: { object: 'list', model: ctx.model, data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })), usage: { prompt_tokens: 0, total_tokens: 0 } },
    usage,
    model: ctx.model,
  };
}
