/**
 * Gemini → OpenAI answers (Kong OSS gemini.lua from_gemini_chat_openai): first candidate, `finishReason`
 * mapped to OpenAI's values (translator-kit/finish-reason.ts; Kong lower-cases it), usageMetadata → usage. All text
 * parts are joined (Kong reads only the first). A SAFETY stop with no content answers an empty assistant message
 * with finish_reason "content_filter" (Kong only errors on it inside the transformer plugins).
 */
import { TranslationError } from '../../errors';
import type { TokenUsage, TranslateContext, TranslatedResponse } from '../provider';
import type { Json } from '../translator-kit/request';
import { estimatedUsage, parseJsonObject, usage } from '../translator-kit/response';
import { type GeminiAnswer, answerOf } from './types';
import { GEMINI_FINISH, openAiFinishReason } from '../translator-kit/finish-reason';

export interface Candidate {
  text: string | undefined;
  toolCalls: Json[];
  finish: string | undefined;
}

/** The first candidate in OpenAI terms: joined text, tool calls, OpenAI finish reason (tool_calls when it called). */
export function readCandidate(a: GeminiAnswer): Candidate | undefined {
  const c = a.candidate;
  if (!c) return undefined;
  const toolCalls: Json[] = c.functionCalls.map((fc, i) => ({ id: `call_${i}`, type: 'function', function: { name: fc.name, arguments: JSON.stringify(fc.args ?? {}) } }));
  return { text: c.texts.length > 0 ? c.texts.join('') : undefined, toolCalls, finish: openAiFinishReason(GEMINI_FINISH, c.finishReason, toolCalls.length > 0) };
}

export function geminiUsage(a: GeminiAnswer): TokenUsage | undefined {
  const u = a.usageMetadata;
  return u ? usage(u.promptTokenCount, u.candidatesTokenCount, u.totalTokenCount) : undefined;
}

export function fromGeminiChat(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const r = answerOf(parseJsonObject(body, 'gemini'));
  const c = readCandidate(r);
  if (!c) throw new TranslationError('no generation candidates received from Gemini, or max_tokens too short');
  const message: Json = { role: 'assistant', content: c.text ?? (c.toolCalls.length > 0 ? null : '') };
  if (c.toolCalls.length > 0) message['tool_calls'] = c.toolCalls;
  const finish = c.finish ?? null;
  const tokens = geminiUsage(r) ?? estimatedUsage(c.text ?? '');
  // The configured model name, for the client and for analytics alike: Kong's `response_model` is the translated
  // body's `model` (kong/llm/plugin/shared-filters/serialize-analytics.lua), which gemini.lua sets to the configured
  // name, not Gemini's `modelVersion` (11-gemini_integration_spec.lua expects gemini-1.5-pro for a
  // gemini-1.5-flash-002 answer).
  return {
    body: { object: 'chat.completion', model: ctx.model, choices: [{ index: 0, message, finish_reason: finish }], usage: tokens },
    usage: tokens,
    model: ctx.model,
  };
}
