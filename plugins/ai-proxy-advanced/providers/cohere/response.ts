/**
 * Cohere → OpenAI answers: v1 chat (`text`), generate (`generations`) and v2 chat (`message.content[]`). Usage
 * prefers `token_count` (what the unit fixture expects), else `billed_units`, else Kong's word estimate.
 */
import { TranslationError } from '../../errors';
import type { TranslateContext, TranslatedResponse } from '../provider';
import { compact, type Json } from '../translator-kit/request';
import { estimatedUsage, parseJsonObject, usage } from '../translator-kit/response';
import { answerOf, cohereUsage, embeddingsOf } from './types';

const FINISH: Record<string, string> = { COMPLETE: 'stop', MAX_TOKENS: 'length', TOOL_CALL: 'tool_calls', STOP_SEQUENCE: 'stop', ERROR_TOXIC: 'content_filter' };

/** OpenAI finish_reason of a Cohere one: mapped, else lower-cased; own keys only, a provider string is no prototype key. */
export function finishReason(reason: string): string {
  return Object.hasOwn(FINISH, reason) ? FINISH[reason]! : reason.toLowerCase();
}

export function fromCohere(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const r = parseJsonObject(body, 'cohere');
  const a = answerOf(r);
  if (!a) throw new TranslationError("'text' or 'generations' missing from cohere response body");
  let out: Json;
  let text: string;
  switch (a.api) {
    case 'generate':
      text = a.generations.join(' ');
      out = { id: a.id, object: 'text_completion', model: ctx.model, choices: a.generations.map((t, index) => ({ index, text: t, finish_reason: 'stop' })) };
      break;
    case 'chat-v1':
      text = a.text;
      out = { id: a.generation_id, object: 'chat.completion', model: ctx.model, choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }] };
      break;
    case 'chat-v2': {
      text = a.text;
      const message: Json = { role: 'assistant', content: text };
      if (a.tool_calls) message['tool_calls'] = a.tool_calls;
      const fr = a.finish_reason !== undefined ? finishReason(a.finish_reason) : 'stop';
      out = { id: a.id, object: 'chat.completion', model: ctx.model, choices: [{ index: 0, message, finish_reason: fr }] };
      break;
    }
  }
  const tokens = cohereUsage(r) ?? estimatedUsage(text);
  out['usage'] = tokens;
  return { body: compact(out), usage: tokens, model: ctx.model };
}

export function fromCohereEmbeddings(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const e = embeddingsOf(parseJsonObject(body, 'cohere'));
  if (!e) throw new TranslationError("'embeddings' missing from cohere embed response");
  const tokens = usage(e.inputTokens, 0);
  return {
    body: { object: 'list', model: ctx.model, data: e.vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })), usage: { prompt_tokens: tokens.prompt_tokens, total_tokens: tokens.total_tokens } },
    usage: tokens,
    model: ctx.model,
  };
}
