/**
 * Request-side helpers shared by the translated drivers (#6). Pure: no I/O, no clock.
 */
import type { ModelOptions } from '../../../../schemas/config';
import { InvalidRequestError } from '../../errors';
import { contentPartOf } from '../openai/types';
import type { TranslateContext } from '../provider';

import type { Json } from './guards';

export type { Json };

export function modelOptions(ctx: TranslateContext): ModelOptions {
  return ctx.target.model.options ?? {};
}

/** Tuning values after Kong's merge: the configured option wins over the request's (shared.lua merge_config_defaults). */
export interface Tuning {
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
}

export function mergeTuning(body: Json, ctx: TranslateContext): Tuning {
  const o = modelOptions(ctx);
  const out: Tuning = {};
  const pick = (opt: number | null | undefined, req: unknown): number | undefined =>
    opt ?? (typeof req === 'number' ? req : undefined);
  const mt = pick(o.max_tokens, body['max_tokens'] ?? body['max_completion_tokens']);
  const t = pick(o.temperature, body['temperature']);
  const p = pick(o.top_p, body['top_p']);
  const k = pick(o.top_k, body['top_k']);
  if (mt !== undefined) out.max_tokens = mt;
  if (t !== undefined) out.temperature = t;
  if (p !== undefined) out.top_p = p;
  if (k !== undefined) out.top_k = k;
  return out;
}

/**
 * Drop keys whose value is undefined, so JSON bodies match Kong's (nil fields vanish in cjson). Builds a new
 * object: deleting keys would switch V8 to dictionary mode and make serialization several times slower.
 */
export function compact<T extends Json>(obj: T): T {
  const out: Json = {};
  for (const key in obj) {
    const v = obj[key];
    if (v !== undefined) out[key] = v;
  }
  return out as T;
}

export interface ChatMessage {
  role: string;
  content?: unknown;
  name?: string;
  tool_calls?: Array<{ id?: string; type?: string; function?: { name?: string; arguments?: string } }>;
  tool_call_id?: string;
  [k: string]: unknown;
}

export function messagesOf(body: Json, provider: string): ChatMessage[] {
  const m = body['messages'];
  if (!Array.isArray(m)) throw new InvalidRequestError(`request is missing 'messages' for ${provider} chat`);
  for (const [i, msg] of m.entries()) {
    if (msg === null || typeof msg !== 'object' || typeof (msg as Json)['role'] !== 'string') {
      throw new InvalidRequestError(`message at position ${i + 1} must be an object with a string 'role'`);
    }
  }
  return m as ChatMessage[];
}

export function promptOf(body: Json, provider: string): string {
  const p = body['prompt'];
  if (typeof p === 'string') return p;
  if (Array.isArray(p) && p.every((x) => typeof x === 'string')) return p.join('');
  throw new InvalidRequestError(`request is missing a string 'prompt' for ${provider} completions`);
}

/** Text of an OpenAI message content (string or array of parts); non-text parts are refused by name. */
export function textOf(content: unknown, provider: string): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part: unknown) => {
        const p = contentPartOf(part);
        if (p.type === 'text' && p.text !== undefined) return p.text;
        throw new InvalidRequestError(`message part of type '${p.type === 'other' ? p.name : p.type}' is not supported by ${provider}`);
      })
      .join('');
  }
  throw new InvalidRequestError(`message content must be a string or an array of parts`);
}

/**
 * An OpenAI tool call's `function.arguments` (a JSON string) as a value: `{}` when absent or blank, else the
 * parsed JSON. Providers that take structured tool input (Anthropic, Bedrock, Gemini) need it parsed; a
 * string that is not JSON is the client's error, reported with `message`.
 */
export function parseToolArguments(args: unknown, message: string): unknown {
  if (typeof args !== 'string' || args.trim() === '') return {};
  try {
    return JSON.parse(args);
  } catch (err) {
    throw new InvalidRequestError(message, { cause: err });
  }
}

export function jsonHeaders(): Record<string, string> {
  return { 'content-type': 'application/json', accept: 'application/json' };
}

export function stringField(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function numberField(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
