/**
 * Anthropic → OpenAI responses (Kong OSS kong/llm/drivers/anthropic.lua transformers_from). `stop_reason` is
 * passed through as `finish_reason` exactly like Kong (the unit fixture expects "stop_sequence"); text blocks are
 * joined with "\n".
 */
import { TranslationError } from '../../errors';
import type { TranslateContext, TranslatedResponse } from '../provider';
import { compact, type Json } from '../translator-kit/request';
import { estimatedUsage, parseJson, usage } from '../translator-kit/response';
import { completionOf, messageOf } from './types';

export function fromAnthropicChat(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const r = messageOf(parseJson(body, 'anthropic'));
  if (!r) throw new TranslationError("'content' not in anthropic://llm/v1/chat response");
  const texts: string[] = [];
  const toolCalls: Json[] = [];
  for (const block of r.content) {
    if (block.type === 'text') texts.push(block.text);
    else if (block.type === 'tool_use') {
      toolCalls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } });
    }
  }
  const text = texts.join('\n');
  const message: Json = { role: 'assistant', content: text };
  if (toolCalls.length > 0) message['tool_calls'] = toolCalls;
  const model = r.model ?? ctx.model;
  // Kong reports nothing for a missing or malformed usage block; we fall back to its word-count estimate.
  const tokens = r.usage?.output_tokens !== undefined ? usage(r.usage.input_tokens, r.usage.output_tokens) : estimatedUsage(text);
  const out: Json = compact({
    id: r.id,
    object: 'chat.completion',
    model,
    choices: [{ index: 0, message, finish_reason: r.stop_reason ?? null }],
    usage: tokens,
  });
  return { body: out, usage: tokens, model };
}

export function fromAnthropicCompletion(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const r = completionOf(parseJson(body, 'anthropic'));
  if (!r) throw new TranslationError("'completion' not in anthropic://llm/v1/completions response");
  const model = r.model ?? ctx.model;
  const tokens = estimatedUsage(r.completion);
  const out: Json = compact({
    id: r.id,
    object: 'text_completion',
    model,
    choices: [{ index: 0, text: r.completion, finish_reason: r.stop_reason ?? null }],
    usage: tokens,
  });
  return { body: out, usage: tokens, model };
}
