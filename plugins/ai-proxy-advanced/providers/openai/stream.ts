/**
 * OpenAI (and OpenAI-compatible) SSE streams: chunks pass through byte-for-byte per event, while usage
 * (`usage` on any chunk, sent when `stream_options.include_usage` is set) and the generated text are collected
 * for analytics. Upstream `[DONE]` ends the stream; a stream cut without it still ends with `[DONE]`.
 */
import type { StreamTranslator, TranslateContext } from '../provider';
import type { StreamEvent } from '../streams/framer';
import { SseFramer } from '../streams/sse';
import { createEventStreamTranslator, kindOf, type StreamSink } from '../streams/translator';
import { choicesOf, choiceText, isObject, usageOf } from './types';

export function handleOpenAiEvent(ev: StreamEvent, sink: StreamSink): void {
  const data = ev.data.trim();
  if (data === '') return;
  if (data === '[DONE]') {
    sink.done();
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    // Not JSON: forward as is; the client sees what the provider sent, we just cannot count it.
    sink.raw(data);
    return;
  }
  const chunk = isObject(parsed) ? parsed : {};
  const u = usageOf(chunk['usage']);
  if (u) sink.usage(u);
  for (const c of choicesOf(chunk)) {
    const t = choiceText(c);
    if (t !== undefined) sink.text(t);
    if (typeof c.finish_reason === 'string') sink.finishReason(c.finish_reason);
  }
  sink.raw(data, u !== undefined);
}

export function createOpenAiSseTranslator(ctx: TranslateContext): StreamTranslator {
  return createEventStreamTranslator(ctx, kindOf(ctx), new SseFramer(), handleOpenAiEvent);
}
