/**
 * OpenAI → Hugging Face requests (Kong OSS kong/llm/drivers/huggingface.lua to_huggingface): text-generation
 * `{inputs, parameters: {max_new_tokens, temperature, top_k, top_p}, options: {use_cache, wait_for_model}}` posted to
 * the model URL (request `parameters` win over the merged tuning values, as in Kong); feature extraction
 * `{inputs, options}`. Chat is the one OpenAI format (providers/openai/request.ts).
 */
import type { TranslateContext } from '../provider';
import { embeddingInputs } from '../gemini/embeddings';
import { compact, type Json, mergeTuning, modelOptions, promptOf } from '../translator-kit/request';
import { obj } from '../translator-kit/response';

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

export function toHfEmbeddings(body: Json, ctx: TranslateContext): Json {
  return { inputs: embeddingInputs(body, 'huggingface'), options: hfOptions(ctx) };
}

