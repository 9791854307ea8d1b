/**
 * Ollama → OpenAI answers (Kong OSS kong/llm/drivers/shared.lua from_ollama): eval_count / prompt_eval_count →
 * usage; finish_reason from `done_reason`, else "length" when eval_count equals the configured max_tokens, else
 * "stop"; tool calls converted back to OpenAI's.
 */
import { TranslationError } from '../../errors';
import type { TranslateContext, TranslatedResponse } from '../provider';
import { type Json, modelOptions } from '../translator-kit/request';
import { parseJsonObject, usage } from '../translator-kit/response';
import { answerOf, type OllamaToolCall } from './types';

export function toolCallsOf(calls: OllamaToolCall[] | undefined): Json[] | undefined {
  if (!calls) return undefined;
  return calls.map((c, i) => {
    const args = c.function.arguments;
    return { id: `call_${i}`, type: 'function', function: { name: c.function.name, arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) } };
  });
}

function created(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

export function fromOllama(body: Buffer, ctx: TranslateContext, provider: string): TranslatedResponse {
  const r = answerOf(parseJsonObject(body, provider));
  const tokens = usage(r.prompt_eval_count ?? 0, r.eval_count ?? 0);
  const model = r.model ?? ctx.model;
  const maxTokens = modelOptions(ctx).max_tokens ?? -1;
  const finish = r.done_reason ?? (r.eval_count === maxTokens ? 'length' : 'stop');
  const out: Json = { object: ctx.routeType === 'llm/v1/completions' ? 'text_completion' : 'chat.completion', model };
  const c = created(r.created_at);
  if (c !== undefined) out['created'] = c;
  if (ctx.routeType === 'llm/v1/completions') {
    out['choices'] = [{ index: 0, text: r.response ?? '', finish_reason: finish }];
  } else {
    const message: Json = { role: r.message?.role ?? 'assistant', content: r.message?.content ?? '' };
    const calls = toolCallsOf(r.message?.tool_calls);
    if (calls) message['tool_calls'] = calls;
    out['choices'] = [{ index: 0, message, finish_reason: calls && finish === 'stop' ? 'tool_calls' : finish }];
  }
  out['usage'] = tokens;
  return { body: out, usage: tokens, model };
}

/** /api/embed: `embeddings`, one vector per input; `prompt_eval_count` is the input's token count. */
export function fromOllamaEmbeddings(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const r = answerOf(parseJsonObject(body, 'ollama'));
  if (!r.embeddings) throw new TranslationError("'embeddings' missing from ollama embeddings response");
  const tokens = usage(r.prompt_eval_count ?? 0, 0);
  const data = r.embeddings.map((embedding, index) => ({ object: 'embedding', index, embedding }));
  const model = r.model ?? ctx.model;
  return { body: { object: 'list', model, data, usage: { prompt_tokens: tokens.prompt_tokens, total_tokens: tokens.total_tokens } }, usage: tokens, model };
}
