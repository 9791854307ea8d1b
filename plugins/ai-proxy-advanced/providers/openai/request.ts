/**
 * OpenAI request bodies, shared by every OpenAI-compatible provider and Hugging Face chat (OSS
 * kong/llm/drivers/openai.lua transformers_to, shared.lua merge_config_defaults): configured
 * `max_tokens`/`temperature`/`top_p` win over the request's (Kong 3.8 changelog "plugin's configured tuning
 * options take precedence"), `model` is the resolved model, `stream` explicit, `top_k` dropped (OpenAI rejects it).
 */
import type { ModelOptions } from '../../../../schemas/config';
import type { TranslateContext, UpstreamRequest } from '../provider';
import type { Json } from './types';

export function toOpenAiBody(body: Json, ctx: TranslateContext): Json {
  const o: ModelOptions | null | undefined = ctx.target.model.options;
  const embeddings = ctx.routeType === 'llm/v1/embeddings';
  // Copy without top_k rather than `delete` it: a deleted key turns the object into a slow dictionary.
  const out: Json = {};
  for (const k in body) if (embeddings || k !== 'top_k') out[k] = body[k];
  if (embeddings) {
    if (o?.embeddings_dimensions != null) out['dimensions'] = o.embeddings_dimensions;
  } else {
    if (o) {
      if (o.temperature != null) out['temperature'] = o.temperature;
      if (o.max_tokens != null) out['max_tokens'] = o.max_tokens;
      if (o.top_p != null) out['top_p'] = o.top_p;
    }
    // The engine delivers a stream whenever ctx.stream (client `stream: true` or `response_streaming: always`):
    // the provider must be asked for one then, whatever the client sent (issue 10).
    out['stream'] = ctx.stream;
  }
  out['model'] = ctx.model;
  return out;
}

/** A POST of the OpenAI body to `url`; `preserve` keeps the client's method and the very same body object. */
export function openAiRequest(body: Json, ctx: TranslateContext, url: string): UpstreamRequest {
  if (ctx.routeType === 'preserve') {
    // Kong leaves a preserve body untouched; returning the same object lets the engine send the client's bytes.
    return { method: ctx.clientMethod, url, headers: { 'content-type': 'application/json' }, body };
  }
  return { method: 'POST', url, headers: { 'content-type': 'application/json' }, body: toOpenAiBody(body, ctx) };
}
