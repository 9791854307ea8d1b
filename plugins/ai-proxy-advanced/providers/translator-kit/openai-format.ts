/**
 * OpenAI wire format for the translated providers that can speak it (Hugging Face chat, Mistral and Llama2 with
 * `*_format: openai`). Kong OSS delegates these to kong/llm/drivers/openai.lua: the body goes through with `model`
 * from config, `stream` explicit, `top_k` dropped, and configured tuning options taking precedence.
 * The engine's own openai driver is preferred when registered (see translated.ts); this is the local fallback.
 */
import { TranslationError } from '../../errors';
import type { TranslateContext, TranslatedResponse, UpstreamRequest } from '../provider';
import { compact, type Json, jsonHeaders, mergeTuning } from './request';
import { arr, estimatedUsage, obj, parseJsonObject, usage } from './response';

export function toOpenAiBody(body: Json, ctx: TranslateContext): Json {
  const t = mergeTuning(body, ctx);
  const out: Json = Object.assign({}, body);
  out['model'] = ctx.model;
  out['stream'] = ctx.stream;
  delete out['top_k'];
  if (ctx.routeType !== 'llm/v1/embeddings') {
    out['max_tokens'] = t.max_tokens;
    out['temperature'] = t.temperature;
    out['top_p'] = t.top_p;
  } else {
    delete out['stream'];
  }
  return compact(out);
}

export function openAiRequest(body: Json, ctx: TranslateContext, url: string): UpstreamRequest {
  return { method: 'POST', url, headers: jsonHeaders(), body: toOpenAiBody(body, ctx) };
}

export function fromOpenAiResponse(body: Buffer, ctx: TranslateContext, provider: string): TranslatedResponse {
  const r = parseJsonObject(body, provider);
  if (ctx.routeType === 'llm/v1/embeddings') {
    if (!arr(r['data'])) throw new TranslationError(`'data' missing from ${provider} embeddings response`);
  } else if (!arr(r['choices'])) {
    throw new TranslationError(`'choices' missing from ${provider} response`);
  }
  const u = obj(r['usage']);
  let tokens;
  if (u) tokens = usage(u['prompt_tokens'], u['completion_tokens'], u['total_tokens']);
  else {
    const text = (arr(r['choices']) ?? []).map((c) => {
      const choice = obj(c);
      const content = obj(choice?.['message'])?.['content'];
      return typeof content === 'string' ? content : typeof choice?.['text'] === 'string' ? choice['text'] : '';
    });
    tokens = estimatedUsage(text.join(' '));
  }
  const model = typeof r['model'] === 'string' ? r['model'] : ctx.model;
  return { body: r, usage: tokens, model };
}
