/**
 * Gemini → OpenAI (Kong OSS gemini.lua from_gemini_chat_openai / handle_stream_event): first candidate,
 * `finishReason` lower-cased, usageMetadata → usage. All text parts are joined (Kong reads only the first).
 * A SAFETY stop with no content answers an empty assistant message with finish_reason "safety"
 * (Kong only errors on it inside the transformer plugins).
 */
import { TranslationError } from '../../errors';
import type { TokenUsage, TranslateContext, TranslatedResponse } from '../provider';
import type { StreamEvent } from '../streams/framer';
import type { StreamSink } from '../streams/translator';
import type { Json } from '../translator-kit/request';
import { arr, estimatedUsage, obj, parseJsonObject, usage } from '../translator-kit/response';

interface Candidate {
  text: string | undefined;
  toolCalls: Json[];
  finish: string | undefined;
}

function readCandidate(r: Json): Candidate | undefined {
  const c = obj(arr(r['candidates'])?.[0]);
  if (!c) return undefined;
  const parts = arr(obj(c['content'])?.['parts']) ?? [];
  const texts: string[] = [];
  const toolCalls: Json[] = [];
  for (const p of parts) {
    const part = obj(p);
    if (typeof part?.['text'] === 'string' && part['thought'] !== true) texts.push(part['text']);
    const fc = obj(part?.['functionCall']);
    if (fc) {
      toolCalls.push({ id: `call_${toolCalls.length}`, type: 'function', function: { name: fc['name'], arguments: JSON.stringify(fc['args'] ?? {}) } });
    }
  }
  const finish = typeof c['finishReason'] === 'string' ? c['finishReason'].toLowerCase() : undefined;
  return { text: texts.length > 0 ? texts.join('') : undefined, toolCalls, finish };
}

export function geminiUsage(r: Json): TokenUsage | undefined {
  const u = obj(r['usageMetadata']);
  return u ? usage(u['promptTokenCount'], u['candidatesTokenCount'], u['totalTokenCount']) : undefined;
}

export function fromGeminiChat(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const r = parseJsonObject(body, 'gemini');
  const c = readCandidate(r);
  if (!c) throw new TranslationError('no generation candidates received from Gemini, or max_tokens too short');
  const message: Json = { role: 'assistant', content: c.text ?? (c.toolCalls.length > 0 ? null : '') };
  if (c.toolCalls.length > 0) message['tool_calls'] = c.toolCalls;
  const finish = c.toolCalls.length > 0 && c.finish === 'stop' ? 'tool_calls' : (c.finish ?? null);
  const tokens = geminiUsage(r) ?? estimatedUsage(c.text ?? '');
  // The client sees the configured model name like Kong; analytics get the version Gemini reports.
  const reported = typeof r['modelVersion'] === 'string' ? r['modelVersion'] : ctx.model;
  return {
    body: { object: 'chat.completion', model: ctx.model, choices: [{ index: 0, message, finish_reason: finish }], usage: tokens },
    usage: tokens,
    model: reported,
  };
}

export function handleGeminiEvent(ev: StreamEvent, sink: StreamSink): void {
  const data = ev.data.trim();
  if (!data) return;
  if (data === '[DONE]') {
    sink.done();
    return;
  }
  let r: Json | undefined;
  try {
    r = obj(JSON.parse(data));
  } catch {
    return; // Kong logs and skips an undecodable Gemini frame
  }
  if (!r) return;
  const err = obj(r['error']);
  if (err) {
    sink.error(String(err['message'] ?? 'gemini stream error'), String(err['status'] ?? 'api_error'));
    sink.done();
    return;
  }
  const u = obj(r['usageMetadata']);
  if (u) sink.usage({ prompt_tokens: num(u['promptTokenCount']), completion_tokens: num(u['candidatesTokenCount']), total_tokens: num(u['totalTokenCount']) });
  const c = readCandidate(r);
  if (!c) return;
  if (c.toolCalls.length > 0) {
    sink.choice({
      delta: { role: 'assistant', tool_calls: c.toolCalls.map((t, i) => ({ index: i, ...t })) },
      index: 0,
      finish_reason: c.finish === 'stop' ? 'tool_calls' : (c.finish ?? null),
    });
    return;
  }
  if (c.text !== undefined || c.finish !== undefined) {
    sink.text(c.text ?? '');
    sink.choice({ delta: { content: c.text ?? '', role: 'assistant' }, index: 0, finish_reason: c.finish ?? null });
  }
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}
