/**
 * Hugging Face → OpenAI answers (Kong OSS huggingface.lua from_huggingface). The text-generation answer becomes a
 * proper `text_completion` (Kong answers a chat-style `message` with finish_reason "complete" and object
 * "llm/v1/completions"); a 200 carrying `{error}` is a translation error. Feature extraction gives one vector per
 * input; token-level outputs (one vector per token) are refused by name: pooling them is the model's job.
 */
import { TranslationError } from '../../errors';
import type { TranslateContext, TranslatedResponse } from '../provider';
import { estimatedUsage, parseJson } from '../translator-kit/response';
import { apiErrorOf, generatedTextOf, vectorsOf } from './types';

export function fromHfCompletions(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const r = parseJson(body, 'huggingface');
  const err = apiErrorOf(r);
  if (err) throw new TranslationError(`API error: ${err}`);
  const text = generatedTextOf(r);
  if (text === undefined) throw new TranslationError('Invalid response format');
  const tokens = estimatedUsage(text);
  return {
    body: { object: 'text_completion', model: ctx.model, choices: [{ index: 0, text, finish_reason: 'stop' }], usage: tokens },
    usage: tokens,
    model: ctx.model,
  };
}

export function fromHfEmbeddings(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const r = parseJson(body, 'huggingface');
  const err = apiErrorOf(r);
  if (err) throw new TranslationError(`API error: ${err}`);
  const vectors = vectorsOf(r);
  if (!vectors) throw new TranslationError('huggingface feature-extraction answered token-level or unknown output; use a sentence-embedding model');
  const usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  return {
    body: { object: 'list', model: ctx.model, data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })), usage: { prompt_tokens: 0, total_tokens: 0 } },
    usage,
    model: ctx.model,
  };
}
