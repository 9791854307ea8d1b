/**
 * Llama 2 "raw" wire format (Kong OSS kong/llm/drivers/llama2.lua to_raw / from_raw) as the translators read it:
 * the request `{inputs, parameters}` and the answer `{data: [{generated_text}], usage?}` (Kong), or a bare
 * `[{generated_text}]` (TGI). Provider JSON is checked once by the guard below, then read as a typed object.
 * Streams are TGI's (huggingface/types.ts).
 */
import { type OpenAiUsage, usageOf } from '../openai/types';
import { isObject } from '../translator-kit/guards';

export interface Llama2RawRequest {
  inputs: string;
  parameters: { max_new_tokens?: number; top_p?: number; top_k?: number; temperature?: number; stream?: boolean };
}

export interface Llama2RawAnswer {
  generated_text: string;
  usage?: OpenAiUsage;
}

/** Why an answer cannot be read, in Kong's words (llama2.lua from_raw). */
export type Llama2RawProblem = 'cannot parse response from llama2 endpoint' | 'response data is empty from llama2 endpoint';

export function rawAnswerOf(r: unknown): Llama2RawAnswer | Llama2RawProblem {
  const list = isObject(r) && Array.isArray(r['data']) ? r['data'] : Array.isArray(r) ? r : undefined;
  if (!list || list.length !== 1) return 'cannot parse response from llama2 endpoint';
  const first = list[0];
  const generated = isObject(first) ? first['generated_text'] : undefined;
  if (typeof generated !== 'string') return 'response data is empty from llama2 endpoint';
  const a: Llama2RawAnswer = { generated_text: generated };
  const u = isObject(r) ? usageOf(r['usage']) : undefined;
  if (u) a.usage = u;
  return a;
}
