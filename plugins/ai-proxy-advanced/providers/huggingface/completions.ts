/**
 * Hugging Face text-generation (Kong OSS kong/llm/drivers/huggingface.lua to_huggingface / from_huggingface):
 * `{inputs, parameters: {max_new_tokens, temperature, top_k, top_p}, options: {use_cache, wait_for_model}}`
 * posted to the model URL. Request `parameters` win over the merged tuning values, as in Kong.
 * The answer `[{generated_text}]` becomes a proper `text_completion` (Kong answers a chat-style `message` with
 * finish_reason "complete" and object "llm/v1/completions"); a 200 carrying `{error}` is a translation error.
 */
import { TranslationError } from '../../errors';
import type { TranslateContext, TranslatedResponse } from '../provider';
import { compact, type Json, mergeTuning, modelOptions, promptOf } from '../translator-kit/request';
import { arr, estimatedUsage, obj, parseJson } from '../translator-kit/response';

export function hfOptions(ctx: TranslateContext): Json {
  const hf = modelOptions(ctx).huggingface;
  return { use_cache: hf?.use_cache ?? false, wait_for_model: hf?.wait_for_model ?? false };
}

export function toHfCompletions(body: Json, ctx: TranslateContext): Json {
  const t = mergeTuning(body, ctx);
  const given = obj(body['parameters']) ?? {};
  const parameters = compact({
    max_new_tokens: t.max_tokens,
    temperature: t.temperature,
    top_k: t.top_k,
    top_p: t.top_p,
    ...given,
    ...(ctx.stream ? { details: true } : {}),
  });
  return compact({ inputs: promptOf(body, 'huggingface'), parameters, options: hfOptions(ctx), stream: ctx.stream || undefined });
}

export function hfApiError(r: unknown): string | undefined {
  const o = obj(r);
  const e = o?.['error'] ?? o?.['message'];
  return typeof e === 'string' ? e : undefined;
}

export function fromHfCompletions(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const r = parseJson(body, 'huggingface');
  const err = hfApiError(r);
  if (err) throw new TranslationError(`API error: ${err}`);
  const first = obj(arr(r)?.[0]) ?? obj(r);
  const text = first?.['generated_text'];
  if (typeof text !== 'string') throw new TranslationError('Invalid response format');
  const tokens = estimatedUsage(text);
  return {
    body: { object: 'text_completion', model: ctx.model, choices: [{ index: 0, text, finish_reason: 'stop' }], usage: tokens },
    usage: tokens,
    model: ctx.model,
  };
}
