/**
 * Provider stop reasons → OpenAI's `finish_reason` values (`stop`, `length`, `tool_calls`, `content_filter`), as
 * OpenAI SDK users switch on them. A deliberate difference from Kong, which passes Anthropic's `stop_reason`
 * through (anthropic.lua: `finish_reason = response_table.stop_reason`), lower-cases Gemini's (gemini.lua) and
 * maps Bedrock's only in part (bedrock.lua _OPENAI_STOP_REASON_MAPPING); docs/providers.md says why.
 * A reason not listed here is passed on unchanged rather than guessed (a new provider reason stays visible).
 * Lookups use own keys only: a provider string is never a prototype key.
 */

export type FinishReasonMap = Readonly<Record<string, string>>;

/** https://docs.anthropic.com/en/api/messages `stop_reason`. */
export const ANTHROPIC_FINISH: FinishReasonMap = Object.freeze({
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
});

/** Bedrock Converse `stopReason`. */
export const BEDROCK_FINISH: FinishReasonMap = Object.freeze({
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  guardrail_intervened: 'content_filter',
  content_filtered: 'content_filter',
});

/** Gemini `finishReason`, compared upper-case as Gemini sends it. */
export const GEMINI_FINISH: FinishReasonMap = Object.freeze({
  STOP: 'stop',
  MAX_TOKENS: 'length',
  SAFETY: 'content_filter',
  RECITATION: 'content_filter',
  BLOCKLIST: 'content_filter',
  PROHIBITED_CONTENT: 'content_filter',
  SPII: 'content_filter',
  IMAGE_SAFETY: 'content_filter',
});

/**
 * The OpenAI finish_reason for a provider's reason; `undefined` stays undefined (no reason yet). A stop with
 * tool calls in the answer is `tool_calls` (Gemini says STOP when it calls a function).
 */
export function openAiFinishReason(map: FinishReasonMap, reason: string | null | undefined, hasToolCalls = false): string | undefined {
  if (reason === undefined || reason === null) return undefined;
  const mapped = Object.hasOwn(map, reason) ? map[reason]! : reason;
  return hasToolCalls && mapped === 'stop' ? 'tool_calls' : mapped;
}
