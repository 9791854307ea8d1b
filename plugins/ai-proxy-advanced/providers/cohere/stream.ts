/** Cohere streams → OpenAI chunks: v1 (NDJSON) stream-start, text-generation, stream-end (with the final response and its counts); v2 (SSE) content-delta, message-end. */
import type { StreamTranslator, TranslateContext } from '../provider';
import type { StreamEvent } from '../streams/framer';
import { SseFramer } from '../streams/sse';
import { createEventStreamTranslator, kindOf, type StreamSink } from '../streams/translator';
import { jsonObject } from '../translator-kit/response';
import { finishReason } from './response';
import { streamEventOf } from './types';

export function handleCohereEvent(ev: StreamEvent, sink: StreamSink): void {
  const data = jsonObject(ev.data);
  if (!data) return;
  const e = streamEventOf(data);
  switch (e.type) {
    case 'stream-start':
      sink.setId(e.generation_id);
      if (sink.kind === 'chat') sink.choice({ delta: { content: '', role: 'assistant' }, index: 0 });
      return;
    case 'text':
      sink.text(e.text);
      if (sink.kind === 'chat') sink.choice({ delta: { content: e.text }, index: 0, finish_reason: null, logprobs: null });
      else sink.choice({ text: e.text, index: 0, finish_reason: null, logprobs: null });
      return;
    case 'end':
      if (e.usage) sink.usage(e.usage);
      if (e.finish_reason) {
        const fr = finishReason(e.finish_reason);
        if (sink.kind === 'chat') sink.choice({ delta: {}, index: 0, finish_reason: fr });
        else sink.choice({ text: '', index: 0, finish_reason: fr });
      }
      sink.done();
      return;
    case 'other':
      return;
  }
}

export function createCohereStreamTranslator(ctx: TranslateContext): StreamTranslator {
  // Cohere v1 streams NDJSON, v2 SSE: the SSE framer takes both (bare JSON lines are whole events).
  return createEventStreamTranslator(ctx, kindOf(ctx), new SseFramer(), handleCohereEvent);
}
