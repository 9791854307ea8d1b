/**
 * Anthropic → OpenAI responses (Kong OSS kong/llm/drivers/anthropic.lua transformers_from). `stop_reason` is
 * mapped to OpenAI's `finish_reason` (translator-kit/finish-reason.ts; Kong passes it through); text blocks are
 * joined with "\n". Usage as Kong reports it: no estimate.
 */
import { TranslationError } from '../../errors';
import type { TranslateContext, TranslatedResponse } from '../provider';
import { compact, type Json } from '../translator-kit/request';
import { ANTHROPIC_FINISH, openAiFinishReason } from '../translator-kit/finish-reason';
import { parseJson, usage } from '../translator-kit/response';
import { completionOf, messageOf, type AnthropicUsage } from './types';

/**
 * The `usage` Kong puts in the client's body (anthropic.lua transformers_from["llm/v1/chat"]): the string
 * "no usage data returned from upstream" when Anthropic sent none; otherwise only the counts it sent, so a
 * usage block without input_tokens/output_tokens becomes `{}`; total only when both are there.
 * spec/03-plugins/38-ai-proxy/03-anthropic_integration_spec.lua "no usage response", "malformed usage response".
 */
function kongUsage(u: AnthropicUsage | undefined): Json | string {
  if (u === undefined) return 'no usage data returned from upstream';
  const out: Json = {};
  if (u.input_tokens !== undefined) out['prompt_tokens'] = u.input_tokens;
  if (u.output_tokens !== undefined) out['completion_tokens'] = u.output_tokens;
  if (u.input_tokens !== undefined && u.output_tokens !== undefined) out['total_tokens'] = u.input_tokens + u.output_tokens;
  return out;
}

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
  const out: Json = compact({
    id: r.id,
    object: 'chat.completion',
    model,
    choices: [{ index: 0, message, finish_reason: openAiFinishReason(ANTHROPIC_FINISH, r.stop_reason) ?? null }],
    usage: kongUsage(r.usage),
  });
  // Analytics count only what the provider reported (Kong's o11y sets no token metric it did not get): no estimate.
  return { body: out, usage: usage(r.usage?.input_tokens, r.usage?.output_tokens), model };
}

export function fromAnthropicCompletion(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const r = completionOf(parseJson(body, 'anthropic'));
  if (!r) throw new TranslationError("'completion' not in anthropic://llm/v1/chat response"); // Kong's text, route and all
  const model = r.model ?? ctx.model;
  // Kong's llm/v1/completions answer has no usage (the legacy API reports none), and its analytics count none.
  const out: Json = compact({
    id: r.id,
    object: 'text_completion',
    model,
    choices: [{ index: 0, text: r.completion, finish_reason: openAiFinishReason(ANTHROPIC_FINISH, r.stop_reason) ?? null }],
  });
  return { body: out, usage: usage(undefined, undefined), model };
}
