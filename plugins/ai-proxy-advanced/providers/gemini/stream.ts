/**
 * Gemini streams → OpenAI chunks (Kong OSS gemini.lua handle_stream_event): a JSON array of answers, or SSE with
 * `alt=sse` (the framer sniffs which); each answer's first candidate becomes one chunk.
 */
import type { StreamTranslator, TranslateContext } from '../provider';
import type { StreamEvent } from '../streams/framer';
import { SniffingFramer } from '../streams/sniff';
import { createEventStreamTranslator, type StreamSink } from '../streams/translator';
import { jsonObject } from '../translator-kit/response';
import { readCandidate } from './response';
import { answerOf } from './types';

export function handleGeminiEvent(ev: StreamEvent, sink: StreamSink): void {
  const data = ev.data.trim();
  if (!data) return;
  if (data === '[DONE]') {
    sink.done();
    return;
  }
  // Kong logs and skips an undecodable Gemini frame.
  const json = jsonObject(data);
  if (!json) return;
  const r = answerOf(json);
  if (r.error) {
    sink.error(r.error.message, r.error.status);
    sink.done();
    return;
  }
  const u = r.usageMetadata;
  if (u) sink.usage({ prompt_tokens: u.promptTokenCount, completion_tokens: u.candidatesTokenCount, total_tokens: u.totalTokenCount });
  const c = readCandidate(r);
  if (!c) return;
  if (c.toolCalls.length > 0) {
    sink.choice({
      delta: { role: 'assistant', tool_calls: c.toolCalls.map((t, i) => ({ index: i, ...t })) },
      index: 0,
      finish_reason: c.finish ?? null,
    });
    return;
  }
  if (c.text !== undefined || c.finish !== undefined) {
    sink.text(c.text ?? '');
    sink.choice({ delta: { content: c.text ?? '', role: 'assistant' }, index: 0, finish_reason: c.finish ?? null });
  }
}

export function createGeminiStreamTranslator(ctx: TranslateContext): StreamTranslator {
  return createEventStreamTranslator(ctx, 'chat', new SniffingFramer(), handleGeminiEvent);
}
