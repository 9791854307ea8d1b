/**
 * OpenAI wire format, shared by every OpenAI-compatible provider (OSS kong/llm/drivers/openai.lua
 * transformers_to / transformers_from, shared.lua merge_config_defaults):
 *  - request: configured `max_tokens`/`temperature`/`top_p`/`top_k` win over the request's (Kong 3.8 changelog
 *    "plugin's configured tuning options take precedence"), `model` is the resolved model, `stream` explicit,
 *    `top_k` dropped (OpenAI rejects it);
 *  - response: passed through byte for byte (`raw`) when it has `choices` (chat/completions) or `data`
 *    (embeddings);
 *    usage read for analytics and balancing.
 */
import type { ModelOptions, RouteType } from '../../../../schemas/config';
import { TranslationError } from '../../errors';
import type { TokenUsage, TranslateContext, TranslatedResponse } from '../provider';

export function toOpenAiBody(body: Record<string, unknown>, ctx: TranslateContext): Record<string, unknown> {
  const o: ModelOptions | null | undefined = ctx.target.model.options;
  const embeddings = ctx.routeType === 'llm/v1/embeddings';
  // Copy without top_k rather than `delete` it: a deleted key turns the object into a slow dictionary.
  const out: Record<string, unknown> = {};
  for (const k in body) if (embeddings || k !== 'top_k') out[k] = body[k];
  if (embeddings) {
    if (o?.embeddings_dimensions != null) out.dimensions = o.embeddings_dimensions;
  } else {
    if (o) {
      if (o.temperature != null) out.temperature = o.temperature;
      if (o.max_tokens != null) out.max_tokens = o.max_tokens;
      if (o.top_p != null) out.top_p = o.top_p;
    }
    // The engine delivers a stream whenever ctx.stream (client `stream: true` or `response_streaming: always`):
    // the provider must be asked for one then, whatever the client sent (issue 10).
    out.stream = ctx.stream;
  }
  out.model = ctx.model;
  return out;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

export function readUsage(u: unknown): TokenUsage {
  if (!u || typeof u !== 'object') return { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  const r = u as Record<string, unknown>;
  const prompt = num(r.prompt_tokens);
  const completion = num(r.completion_tokens);
  const usage: TokenUsage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: r.total_tokens === undefined ? prompt + completion : num(r.total_tokens),
  };
  const pd = r.prompt_tokens_details;
  if (pd && typeof pd === 'object') usage.prompt_tokens_details = pd as Record<string, number>;
  const cd = r.completion_tokens_details;
  if (cd && typeof cd === 'object') usage.completion_tokens_details = cd as Record<string, number>;
  return usage;
}

const REQUIRED_FIELD: Partial<Record<RouteType, string>> = {
  'llm/v1/chat': 'choices',
  'llm/v1/completions': 'choices',
  'llm/v1/embeddings': 'data',
};

/** Kong's from_format texts: `transformation failed from type <provider>://<route>: <reason>`. */
export function fromOpenAiBody(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const fail = (reason: string): TranslationError =>
    new TranslationError(`transformation failed from type ${ctx.provider}://${ctx.routeType}: ${reason}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    if (ctx.routeType === 'preserve') return { body: body.toString('utf8'), raw: body, usage: readUsage(undefined) };
    throw fail(`failed to decode ${ctx.routeType} response`);
  }
  const obj = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  const field = REQUIRED_FIELD[ctx.routeType];
  if (field !== undefined && (!obj || obj[field] == null)) throw fail(`'${field}' not in ${ctx.routeType} response`);
  const model = typeof obj?.model === 'string' ? obj.model : undefined;
  const out: TranslatedResponse = { body: parsed, raw: body, usage: readUsage(obj?.usage) };
  if (model !== undefined) out.model = model;
  return out;
}
