/**
 * Cohere's wire formats (v1 /chat and /generate, v2 /chat and /embed; https://docs.cohere.com/reference) as the
 * translators read them: only the fields used are typed. Provider JSON is checked once by the guards below, then
 * read as typed objects; a field of the wrong type reads as absent.
 */
import { isObject, type Json, str } from '../translator-kit/guards';
import type { TokenUsage } from '../provider';
import { usage } from '../translator-kit/response';

const obj = (v: unknown): Json | undefined => (isObject(v) ? v : undefined);

/** One answer, whichever API produced it. */
export type CohereAnswer =
  | { api: 'generate'; id?: unknown; generations: string[] }
  | { api: 'chat-v1'; generation_id?: unknown; text: string }
  | { api: 'chat-v2'; id?: unknown; text: string; tool_calls?: unknown[]; finish_reason?: string };

/** v1 `token_count`, else v1 `meta.billed_units` or v2 `usage.billed_units`. */
export function cohereUsage(r: Json): TokenUsage | undefined {
  const tc = obj(r['token_count']);
  if (tc && typeof tc['prompt_tokens'] === 'number') return usage(tc['prompt_tokens'], tc['response_tokens'], tc['total_tokens']);
  const billed = obj(obj(r['meta'])?.['billed_units']) ?? obj(obj(r['usage'])?.['billed_units']);
  if (billed) return usage(billed['input_tokens'], billed['output_tokens']);
  return undefined;
}

export function answerOf(r: Json): CohereAnswer | undefined {
  const gens = r['generations'];
  if (r['prompt'] !== undefined && Array.isArray(gens)) return { api: 'generate', id: r['id'], generations: gens.map((g) => String(obj(g)?.['text'] ?? '')) };
  const text = str(r['text']);
  if (text !== undefined) return { api: 'chat-v1', generation_id: r['generation_id'], text };
  const m = obj(r['message']);
  if (!m) return undefined;
  const parts = Array.isArray(m['content']) ? m['content'] : [];
  const a: CohereAnswer = { api: 'chat-v2', id: r['id'], text: str(m['tool_plan']) ?? parts.map((p) => String(obj(p)?.['text'] ?? '')).join('') };
  if (Array.isArray(m['tool_calls'])) a.tool_calls = m['tool_calls'];
  const fr = str(r['finish_reason']);
  if (fr !== undefined) a.finish_reason = fr;
  return a;
}

/** Stream events of the v1 (NDJSON `event_type`) and v2 (SSE `type`) chat and generate streams. */
export type CohereStreamEvent =
  | { type: 'stream-start'; generation_id?: string }
  | { type: 'text'; text: string }
  | { type: 'end'; usage?: TokenUsage; finish_reason?: string }
  | { type: 'other' };

export function streamEventOf(e: Json): CohereStreamEvent {
  const type = e['event_type'] ?? e['type'];
  if (type === 'stream-start') {
    const id = str(e['generation_id']);
    return id === undefined ? { type: 'stream-start' } : { type: 'stream-start', generation_id: id };
  }
  if (type === 'text-generation') return { type: 'text', text: str(e['text']) ?? '' };
  // v2 chat stream
  if (type === 'content-delta') return { type: 'text', text: String(obj(obj(obj(e['delta'])?.['message'])?.['content'])?.['text'] ?? '') };
  if (type === 'stream-end' || type === 'message-end') {
    const resp = obj(e['response']) ?? obj(e['delta']) ?? {};
    const out: { type: 'end'; usage?: TokenUsage; finish_reason?: string } = { type: 'end' };
    const u = cohereUsage(resp);
    if (u) out.usage = u;
    const reason = str(e['finish_reason']) ?? str(resp['finish_reason']);
    if (reason) out.finish_reason = reason;
    return out;
  }
  return { type: 'other' };
}

/** v2 /embed: `embeddings` as a list, or by type (`{float: [...]}`). */
export function embeddingsOf(r: Json): { vectors: unknown[]; inputTokens: unknown } | undefined {
  const e = r['embeddings'];
  const vectors = Array.isArray(e) ? e : obj(e) && Array.isArray(obj(e)!['float']) ? (obj(e)!['float'] as unknown[]) : undefined;
  if (!vectors) return undefined;
  return { vectors, inputTokens: obj(obj(r['meta'])?.['billed_units'])?.['input_tokens'] ?? 0 };
}
