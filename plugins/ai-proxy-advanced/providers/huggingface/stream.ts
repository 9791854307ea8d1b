/**
 * Text Generation Inference streams → OpenAI chunks: `data: {token: {text, special}, generated_text, details}`,
 * the last event with `generated_text`/`details`. Used by Hugging Face completions and Llama2's `raw` format
 * (Kong OSS has no raw stream parser). Hugging Face chat streams OpenAI SSE (providers/openai/stream.ts).
 */
import type { StreamTranslator, TranslateContext } from '../provider';
import type { StreamEvent } from '../streams/framer';
import { SseFramer } from '../streams/sse';
import { createEventStreamTranslator, kindOf, type StreamSink } from '../streams/translator';
import { jsonObject } from '../translator-kit/response';
import { tgiEventOf } from './types';

export function handleTgiEvent(ev: StreamEvent, sink: StreamSink): void {
  const data = jsonObject(ev.data);
  if (!data) return;
  const e = tgiEventOf(data);
  if (e.type === 'error') {
    sink.error(e.message, e.errorType);
    sink.done();
    return;
  }
  sink.text(e.text);
  const finish = e.finished ? e.finishReason : null;
  if (sink.kind === 'chat') sink.choice({ delta: { content: e.text }, index: 0, finish_reason: finish });
  else sink.choice({ text: e.text, index: 0, finish_reason: finish });
  if (e.generatedTokens !== undefined) sink.usage({ completion_tokens: e.generatedTokens });
}

export function createTgiStreamTranslator(ctx: TranslateContext): StreamTranslator {
  return createEventStreamTranslator(ctx, kindOf(ctx), new SseFramer(), handleTgiEvent);
}
