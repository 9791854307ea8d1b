/**
 * Hugging Face chat (OSS kong/llm/drivers/huggingface.lua): URL = `upstream_url` or
 * `https://api-inference.huggingface.co/models/<model>`, plus `/v1/chat/completions`; the body gets Kong's
 * `parameters` (sampling options moved in, `max_tokens` → `max_length` for chat) and `options`
 * (`use_cache`, `wait_for_model`); the response is rebuilt as Kong's from_huggingface does.
 * Completions use Hugging Face's own format and belong to the translated providers.
 */
import { TranslationError } from '../../errors';
import type { TranslateContext, TranslatedResponse } from '../provider';
import { readUsage } from './format';

export function huggingfaceUrl(ctx: TranslateContext): string {
  const o = ctx.target.model.options;
  const base = o?.upstream_url ?? `https://api-inference.huggingface.co/models/${ctx.model}`;
  return `${base}/v1/chat/completions`;
}

export function toHuggingfaceChat(body: Record<string, unknown>, ctx: TranslateContext): Record<string, unknown> {
  const o = ctx.target.model.options;
  const req: Record<string, unknown> = { ...body };
  if (o) {
    if (o.temperature != null) req.temperature = o.temperature;
    if (o.max_tokens != null) req.max_tokens = o.max_tokens;
    if (o.top_p != null) req.top_p = o.top_p;
    if (o.top_k != null) req.top_k = o.top_k;
  }
  const given = req.parameters && typeof req.parameters === 'object' ? (req.parameters as Record<string, unknown>) : {};
  const parameters: Record<string, unknown> = { ...given };
  for (const k of ['top_k', 'top_p', 'temperature'] as const) {
    if (parameters[k] === undefined && req[k] !== undefined) parameters[k] = req[k];
  }
  if (parameters.max_tokens === undefined && req.max_tokens !== undefined) {
    if (req.messages !== undefined) parameters.max_length = req.max_tokens;
    else parameters.max_new_tokens = req.max_tokens;
  }
  delete req.top_k;
  delete req.top_p;
  delete req.temperature;
  delete req.max_tokens;
  const hf = o?.huggingface;
  req.options = { use_cache: hf?.use_cache ?? false, wait_for_model: hf?.wait_for_model ?? false };
  req.parameters = parameters;
  req.model = ctx.model;
  return req;
}

export function fromHuggingfaceChat(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const fail = (reason: string): TranslationError =>
    new TranslationError(`transformation failed from type ${ctx.provider}://${ctx.routeType}: ${reason}`);
  let r: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (!parsed || typeof parsed !== 'object') throw new Error('not an object');
    r = parsed as Record<string, unknown>;
  } catch {
    throw fail('Failed to decode response');
  }
  const apiError = r.error ?? r.message;
  if (apiError !== undefined) throw fail(`API error: ${typeof apiError === 'string' ? apiError : JSON.stringify(apiError)}`);
  const first = Array.isArray(r) ? (r[0] as Record<string, unknown> | undefined) : undefined;
  const choices: unknown[] = [];
  if (first && typeof first.generated_text === 'string') {
    choices.push({ message: { content: first.generated_text }, index: 0, finish_reason: 'complete' });
  } else if (Array.isArray(r.choices)) {
    r.choices.forEach((c: unknown, i) => {
      const msg = (c as { message?: { content?: unknown } } | null)?.message;
      choices.push({ message: { content: msg?.content ?? '' }, index: i, finish_reason: 'complete' });
    });
  } else {
    throw fail('Invalid response format');
  }
  const out = { model: ctx.model, object: r.object ?? ctx.routeType, choices, usage: r.usage ?? {} };
  return { body: out, usage: readUsage(r.usage), model: ctx.model };
}
