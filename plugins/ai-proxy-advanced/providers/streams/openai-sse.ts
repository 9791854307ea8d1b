/**
 * OpenAI (and OpenAI-compatible) SSE streams: chunks pass through byte-for-byte per event, while usage
 * (`usage` on any chunk, sent when `stream_options.include_usage` is set) and the generated text are collected
 * for analytics. Upstream `[DONE]` ends the stream; a stream cut without it still ends with `[DONE]`.
 * Used by the translated drivers that speak OpenAI's format (HF chat, Mistral/Llama2 `openai` format) and meant
 * for the engine's openai driver.
 */
import type { StreamTranslator, TranslateContext } from '../provider';
import { obj } from '../translator-kit/response';
import { SseFramer } from './sse';
import { createEventStreamTranslator, kindOf, type StreamSink } from './translator';
import type { StreamEvent } from './framer';

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
  const chunk = obj(parsed);
  const u = obj(chunk?.['usage']);
  if (u) sink.usage({ prompt_tokens: num(u['prompt_tokens']), completion_tokens: num(u['completion_tokens']), total_tokens: num(u['total_tokens']) });
  const choices = Array.isArray(chunk?.['choices']) ? (chunk!['choices'] as unknown[]) : [];
  for (const c of choices) {
    const choice = obj(c);
    const delta = obj(choice?.['delta']);
    const t = typeof delta?.['content'] === 'string' ? delta['content'] : choice?.['text'];
    if (typeof t === 'string') sink.text(t);
  }
  sink.raw(data, u !== undefined);
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

export function createOpenAiSseTranslator(ctx: TranslateContext): StreamTranslator {
  return createEventStreamTranslator(ctx, kindOf(ctx), new SseFramer(), handleOpenAiEvent);
}
