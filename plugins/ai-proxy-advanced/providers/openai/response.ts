/**
 * OpenAI answers (OSS kong/llm/drivers/openai.lua transformers_from): passed through byte for byte (`raw`) when
 * they have `choices` (chat/completions) or `data` (embeddings); usage read for analytics and balancing.
 */
import type { RouteType } from '../../../../schemas/config';
import { TranslationError } from '../../errors';
import type { TokenUsage, TranslateContext, TranslatedResponse } from '../provider';
import { isObject, type OpenAiResponse, usageOf } from './types';

export function readUsage(v: unknown): TokenUsage {
  const u = usageOf(v);
  const prompt = u?.prompt_tokens ?? 0;
  const completion = u?.completion_tokens ?? 0;
  const usage: TokenUsage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: u?.total_tokens ?? prompt + completion };
  if (u?.prompt_tokens_details) usage.prompt_tokens_details = u.prompt_tokens_details;
  if (u?.completion_tokens_details) usage.completion_tokens_details = u.completion_tokens_details;
  return usage;
}

const REQUIRED_FIELD: Partial<Record<RouteType, 'choices' | 'data'>> = {
  'llm/v1/chat': 'choices',
  'llm/v1/completions': 'choices',
  'llm/v1/embeddings': 'data',
};

/** Kong's from_format reasons; the registry (providers/index.ts) adds the `transformation failed from type` prefix. */
export function fromOpenAiBody(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const fail = (reason: string): TranslationError => new TranslationError(reason);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    if (ctx.routeType === 'preserve') return { body: body.toString('utf8'), raw: body, usage: readUsage(undefined) };
    throw fail(`failed to decode ${ctx.routeType} response`);
  }
  const r: OpenAiResponse | undefined = isObject(parsed) ? parsed : undefined;
  const field = REQUIRED_FIELD[ctx.routeType];
  if (field !== undefined && (!r || r[field] == null)) throw fail(`'${field}' not in ${ctx.routeType} response`);
  const out: TranslatedResponse = { body: parsed, raw: body, usage: readUsage(r?.usage) };
  if (typeof r?.model === 'string') out.model = r.model;
  return out;
}
