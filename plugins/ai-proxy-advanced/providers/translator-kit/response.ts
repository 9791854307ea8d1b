/**
 * Response-side helpers shared by the translated drivers (#6). Pure.
 */
import { TranslationError } from '../../errors';
import type { ClientErrorResponse, TokenUsage } from '../provider';
import { isObject, type Json } from './guards';

export function parseJson(body: Buffer | string, provider: string): unknown {
  try {
    return JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (err) {
    throw new TranslationError(`failed to decode ${provider} response`, { cause: err });
  }
}

export function parseJsonObject(body: Buffer | string, provider: string): Json {
  const v = parseJson(body, provider);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new TranslationError(`${provider} response is not a JSON object`);
  return v as Json;
}

/**
 * Kong hands provider error bodies to the client untouched (status and body), only the content type is kept:
 * hop-by-hop and length headers are the engine's business.
 */
export function passThroughError(status: number, headers: Readonly<Record<string, string>>, body: Buffer): ClientErrorResponse {
  const out: Record<string, string> = {};
  const ct = headers['content-type'];
  if (ct) out['content-type'] = ct;
  return { status, headers: out, body };
}

export function usage(prompt: unknown, completion: unknown, total?: unknown): TokenUsage {
  const p = typeof prompt === 'number' ? prompt : 0;
  const c = typeof completion === 'number' ? completion : 0;
  const t = typeof total === 'number' ? total : p + c;
  return { prompt_tokens: p, completion_tokens: c, total_tokens: t };
}

/** Kong's fallback when a provider reports no usage: whitespace-separated words (shared.lua count_words). */
export function countWords(text: string): number {
  const m = text.match(/\S+/g);
  return m ? m.length : 0;
}

export function estimatedUsage(completionText: string): TokenUsage {
  const c = countWords(completionText);
  return { prompt_tokens: 0, completion_tokens: c, total_tokens: c };
}

export function obj(v: unknown): Json | undefined {
  return isObject(v) ? v : undefined;
}

/**
 * A stream event's data as a JSON object, or undefined when it is empty, not JSON or not an object: such
 * events carry nothing to translate (keep-alives, comments), so the stream handlers skip them.
 */
export function jsonObject(data: string | undefined): Json | undefined {
  if (!data) return undefined;
  try {
    return obj(JSON.parse(data));
  } catch {
    return undefined;
  }
}

export function arr(v: unknown): unknown[] | undefined {
  return Array.isArray(v) ? v : undefined;
}
