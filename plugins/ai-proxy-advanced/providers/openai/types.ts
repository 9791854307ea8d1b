/**
 * OpenAI's wire format as this gateway reads it (https://platform.openai.com/docs/api-reference): only the fields
 * the translators use are typed; everything else passes through untouched. Provider bytes are checked once at the
 * boundary by the guards below, then used as typed objects.
 */

import { counts, isObject, type Json, str } from '../translator-kit/guards';

export { isObject, type Json };

/** `usage` of a chat/completions/embeddings answer or of a stream chunk. */
export interface OpenAiUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  prompt_tokens_details?: Record<string, number>;
  completion_tokens_details?: Record<string, number>;
}

/** One choice of a chat answer (`message`), of a completions answer (`text`) or of a stream chunk (`delta`). */
export interface OpenAiChoice {
  index?: number;
  message?: { role?: string; content?: unknown };
  delta?: { role?: string; content?: unknown };
  text?: unknown;
  finish_reason?: string | null;
}

/** A chat.completion, text_completion or embeddings list (`data`), or a chat.completion.chunk. */
export interface OpenAiResponse {
  id?: string;
  object?: string;
  model?: unknown;
  choices?: unknown;
  data?: unknown;
  usage?: unknown;
}

function isCountMap(v: unknown): v is Record<string, number> {
  return isObject(v) && Object.values(v).every((n) => typeof n === 'number');
}

/** The usage fields a provider sent, numbers only; undefined when there is no usage object. */
export function usageOf(v: unknown): OpenAiUsage | undefined {
  const u: OpenAiUsage | undefined = counts(v, ['prompt_tokens', 'completion_tokens', 'total_tokens'] as const);
  if (!u || !isObject(v)) return u;
  if (isCountMap(v['prompt_tokens_details'])) u.prompt_tokens_details = v['prompt_tokens_details'];
  if (isCountMap(v['completion_tokens_details'])) u.completion_tokens_details = v['completion_tokens_details'];
  return u;
}

/** The choices of an answer or chunk that are objects; anything else in the array is ignored. */
export function choicesOf(r: OpenAiResponse): OpenAiChoice[] {
  return Array.isArray(r.choices) ? (r.choices.filter(isObject) as OpenAiChoice[]) : [];
}

/** Generated text of one choice: chat `message.content`, stream `delta.content`, or completions `text`. */
export function choiceText(c: OpenAiChoice): string | undefined {
  const content = c.delta?.content ?? c.message?.content;
  if (typeof content === 'string') return content;
  return typeof c.text === 'string' ? c.text : undefined;
}

/** One part of an OpenAI message `content` array, as the translators tell them apart. */
export type OpenAiContentPart =
  | { type: 'text'; text: string | undefined }
  | { type: 'image_url'; url: string | undefined }
  /** Any other part: `name` is its `type` as text (for error messages), `part` the part untouched. */
  | { type: 'other'; name: string; part: unknown };

export function contentPartOf(v: unknown): OpenAiContentPart {
  const p = isObject(v) ? v : undefined;
  if (p?.['type'] === 'text') return { type: 'text', text: str(p['text']) };
  if (p?.['type'] === 'image_url') {
    const image = p['image_url'];
    return { type: 'image_url', url: isObject(image) ? str(image['url']) : undefined };
  }
  return { type: 'other', name: String(p?.['type']), part: v };
}
