/**
 * Hugging Face wire formats as the translators read them: text-generation (TGI / Inference API `[{generated_text}]`
 * or `{generated_text}`), its stream (`data: {token: {text, special}, generated_text, details}`), feature
 * extraction (vectors) and the API's `{error}` answers. Only the fields used are typed; provider JSON is checked
 * once by the guards below, then read as typed objects.
 */
import { isObject } from '../translator-kit/guards';

/** A 200 carrying `{error}` or `{message}` (model loading, timeout): the API's error text. */
export function apiErrorOf(r: unknown): string | undefined {
  if (!isObject(r)) return undefined;
  const e = r['error'] ?? r['message'];
  return typeof e === 'string' ? e : undefined;
}

/** `generated_text` of the first generation (`[{generated_text}]`) or of the answer itself (`{generated_text}`). */
export function generatedTextOf(r: unknown): string | undefined {
  const first = Array.isArray(r) ? r[0] : r;
  return isObject(first) && typeof first['generated_text'] === 'string' ? first['generated_text'] : undefined;
}

const isVector = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number');

/** Feature-extraction output as one vector per input; undefined for token-level or unknown output. */
export function vectorsOf(r: unknown): number[][] | undefined {
  if (isVector(r)) return [r];
  if (Array.isArray(r) && r.every(isVector)) return r;
  return undefined;
}

/** One TGI stream event. */
export type TgiStreamEvent =
  | { type: 'error'; message: string; errorType: string }
  | { type: 'token'; text: string; finished: boolean; finishReason: 'stop' | 'length'; generatedTokens?: number };

export function tgiEventOf(e: Record<string, unknown>): TgiStreamEvent {
  if (typeof e['error'] === 'string') return { type: 'error', message: e['error'], errorType: String(e['error_type'] ?? 'generation_error') };
  const token = isObject(e['token']) ? e['token'] : undefined;
  const text = token && token['special'] !== true && typeof token['text'] === 'string' ? token['text'] : '';
  const details = isObject(e['details']) ? e['details'] : undefined;
  const ev: TgiStreamEvent = {
    type: 'token',
    text,
    finished: typeof e['generated_text'] === 'string' || details !== undefined,
    finishReason: details?.['finish_reason'] === 'length' ? 'length' : 'stop',
  };
  if (details && typeof details['generated_tokens'] === 'number') ev.generatedTokens = details['generated_tokens'];
  return ev;
}
