/**
 * Ollama NDJSON streams → OpenAI chunks (Kong OSS shared.lua handle_stream_event): one object per line, the one
 * with `done: true` carries the counts and the finish reason.
 */
import type { StreamTranslator, TranslateContext } from '../provider';
import type { StreamEvent } from '../streams/framer';
import { NdjsonFramer } from '../streams/ndjson';
import { createEventStreamTranslator, kindOf, type StreamSink } from '../streams/translator';
import type { Json } from '../translator-kit/request';
import { jsonObject } from '../translator-kit/response';
import { toolCallsOf } from './response';
import { answerOf } from './types';

export function handleOllamaEvent(ev: StreamEvent, sink: StreamSink): void {
  const data = jsonObject(ev.data);
  if (!data) return;
  const r = answerOf(data);
  if (r.error !== undefined) {
    sink.error(r.error, 'ollama_error');
    sink.done();
    return;
  }
  sink.setModel(r.model);
  if (r.done === true) {
    sink.usage({ prompt_tokens: r.prompt_eval_count ?? 0, completion_tokens: r.eval_count ?? 0 });
    const finish = r.done_reason ?? 'stop';
    const tail = sink.kind === 'chat' ? (r.message?.content ?? '') : (r.response ?? '');
    sink.text(tail);
    if (sink.kind === 'chat') sink.choice({ delta: tail ? { content: tail } : {}, index: 0, finish_reason: finish });
    else sink.choice({ text: tail, index: 0, finish_reason: finish });
    sink.done();
    return;
  }
  if (sink.kind === 'chat') {
    const content = r.message?.content ?? '';
    const calls = toolCallsOf(r.message?.tool_calls);
    sink.text(content);
    const delta: Json = { content };
    if (calls) delta['tool_calls'] = calls.map((c, i) => ({ index: i, ...c }));
    sink.choice({ delta, index: 0, finish_reason: null });
  } else {
    const t = r.response ?? '';
    sink.text(t);
    sink.choice({ text: t, index: 0, finish_reason: null });
  }
}

export function createOllamaStreamTranslator(ctx: TranslateContext): StreamTranslator {
  return createEventStreamTranslator(ctx, kindOf(ctx), new NdjsonFramer(), handleOllamaEvent);
}
