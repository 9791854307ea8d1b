/**
 * Hugging Face → OpenAI answers (Kong OSS huggingface.lua from_huggingface). The text-generation answer keeps
 * Kong's shape (a chat-style `message`, object "llm/v1/completions", usage `{}`) with OpenAI's `text` added and
 * finish_reason "stop"; a 200 carrying `{error}` is a translation error. Feature extraction gives one vector per
 * input; token-level outputs (one vector per token) are refused by name: pooling them is the model's job.
 */
import { TranslationError } from '../../errors';
import type { TranslateContext, TranslatedResponse } from '../provider';
import { parseJson, usage } from '../translator-kit/response';
import { apiErrorOf, generatedTextOf, vectorsOf } from './types';

export function fromHfCompletions(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const r = parseJson(body, 'huggingface');
  const err = apiErrorOf(r);
  if (err) throw new TranslationError(`API error: ${err}`);
  const text = generatedTextOf(r);
  if (text === undefined) throw new TranslationError('Invalid response format');
  // Kong's shape (huggingface.lua from_huggingface; 10-huggingface_integration_spec.lua "good request" reads
  // object "llm/v1/completions" and choices[1].message.content), plus OpenAI's `text` so completions clients
  // read the answer too; finish_reason is OpenAI's "stop" (Kong: "complete"). Generation reports no usage: Kong
  // answers `{}` and counts none, and so do we (no estimate).
  return {
    body: { model: ctx.model, object: 'llm/v1/completions', choices: [{ message: { content: text }, text, index: 0, finish_reason: 'stop' }], usage: {} },
    usage: usage(undefined, undefined),
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
