/**
 * Anthropic's wire formats (https://docs.anthropic.com/en/api/messages, /messages-streaming, legacy /complete) as the
 * translators read them: only the fields used are typed. Provider JSON is checked once by the guards below, then
 * read as typed objects; a field of the wrong type reads as absent.
 */
import { counts, isObject, num, str } from '../translator-kit/guards';

export interface AnthropicUsage {
  input_tokens?: number;
  output_tokens?: number;
}

export type AnthropicBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id?: string; name?: string; input?: unknown }
  | { type: 'other' };

/** A Messages API answer. */
export interface AnthropicMessage {
  id?: string;
  model?: string;
  role?: string;
  content: AnthropicBlock[];
  stop_reason?: string | null;
  usage?: AnthropicUsage;
}

/** A legacy Text Completions answer or `completion` stream event. */
export interface AnthropicCompletion {
  id?: string;
  log_id?: string;
  model?: string;
  completion: string;
  stop_reason?: string | null;
}

export interface AnthropicError {
  message: string;
  type: string;
}


export function usageOf(v: unknown): AnthropicUsage | undefined {
  return counts(v, ['input_tokens', 'output_tokens'] as const);
}

export function blockOf(v: unknown): AnthropicBlock {
  if (!isObject(v)) return { type: 'other' };
  if (v['type'] === 'tool_use') {
    const b: AnthropicBlock = { type: 'tool_use', input: v['input'] };
    const id = str(v['id']);
    const name = str(v['name']);
    if (id !== undefined) b.id = id;
    if (name !== undefined) b.name = name;
    return b;
  }
  // Kong reads `text` of any block that has one (anthropic.lua from_claude_messages).
  const text = str(v['text']);
  return text === undefined ? { type: 'other' } : { type: 'text', text };
}

function common<T extends { id?: string; model?: string; stop_reason?: string | null }>(r: Record<string, unknown>, out: T): T {
  const id = str(r['id']);
  const model = str(r['model']);
  if (id !== undefined) out.id = id;
  if (model !== undefined) out.model = model;
  const stop = r['stop_reason'];
  if (typeof stop === 'string' || stop === null) out.stop_reason = stop;
  return out;
}

/** The Messages answer, or undefined when it has no `content` array. */
export function messageOf(r: unknown): AnthropicMessage | undefined {
  if (!isObject(r) || !Array.isArray(r['content'])) return undefined;
  const m = common<AnthropicMessage>(r, { content: r['content'].map(blockOf) });
  const role = str(r['role']);
  if (role !== undefined) m.role = role;
  const u = usageOf(r['usage']);
  if (u) m.usage = u;
  return m;
}

/** The Text Completions answer or event, or undefined when it has no string `completion`. */
export function completionOf(r: unknown): AnthropicCompletion | undefined {
  if (!isObject(r) || typeof r['completion'] !== 'string') return undefined;
  const c = common<AnthropicCompletion>(r, { completion: r['completion'] });
  const logId = str(r['log_id']);
  if (logId !== undefined) c.log_id = logId;
  return c;
}

export function errorOf(r: unknown): AnthropicError {
  const e = isObject(r) && isObject(r['error']) ? r['error'] : {};
  return { message: str(e['message']) ?? 'anthropic stream error', type: str(e['type']) ?? 'api_error' };
}

/** Messages stream events (SSE): the fields each carries. */
export type AnthropicStreamEvent =
  | { type: 'message_start'; message: { id?: string; role?: string; usage?: AnthropicUsage } }
  | { type: 'content_block_start'; index: number; block: AnthropicBlock }
  | { type: 'content_block_delta'; index: number; delta: { kind: 'input_json'; partial_json: string } | { kind: 'text'; text: string } }
  | { type: 'message_delta'; stop_reason?: string; usage?: AnthropicUsage }
  | { type: 'message_stop' }
  | { type: 'error'; error: AnthropicError }
  | { type: 'other' };

/** One Messages stream event from its SSE `event` name (or the data's `type`) and data. */
export function streamEventOf(event: string | undefined, data: Record<string, unknown>): AnthropicStreamEvent {
  const index = num(data['index']) ?? 0;
  switch (event ?? str(data['type'])) {
    case 'message_start': {
      const m = isObject(data['message']) ? data['message'] : {};
      const message: { id?: string; role?: string; usage?: AnthropicUsage } = {};
      const id = str(m['id']);
      const role = str(m['role']);
      const u = usageOf(m['usage']);
      if (id !== undefined) message.id = id;
      if (role !== undefined) message.role = role;
      if (u) message.usage = u;
      return { type: 'message_start', message };
    }
    case 'content_block_start':
      return { type: 'content_block_start', index, block: blockOf(data['content_block']) };
    case 'content_block_delta': {
      const d = isObject(data['delta']) ? data['delta'] : {};
      if (d['type'] === 'input_json_delta') return { type: 'content_block_delta', index, delta: { kind: 'input_json', partial_json: str(d['partial_json']) ?? '' } };
      return { type: 'content_block_delta', index, delta: { kind: 'text', text: str(d['text']) ?? '' } };
    }
    case 'message_delta': {
      const e: { type: 'message_delta'; stop_reason?: string; usage?: AnthropicUsage } = { type: 'message_delta' };
      const stop = isObject(data['delta']) ? str(data['delta']['stop_reason']) : undefined;
      const u = usageOf(data['usage']);
      if (stop !== undefined) e.stop_reason = stop;
      if (u) e.usage = u;
      return e;
    }
    case 'message_stop':
      return { type: 'message_stop' };
    case 'error':
      return { type: 'error', error: errorOf(data) };
    default:
      return { type: 'other' }; // ping, content_block_stop and future event types carry nothing for the client
  }
}
