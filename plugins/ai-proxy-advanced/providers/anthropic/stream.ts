/**
 * Anthropic stream events → OpenAI chunks (Kong OSS kong/llm/drivers/anthropic.lua handle_stream_event).
 * Messages API (SSE): message_start, content_block_*, message_delta, message_stop, ping, error; the legacy Text
 * Completions stream: `completion` events carry text, the last one a stop_reason.
 */
import type { StreamTranslator, TranslateContext } from '../provider';
import type { StreamEvent } from '../streams/framer';
import { SseFramer } from '../streams/sse';
import { createEventStreamTranslator, type StreamSink } from '../streams/translator';
import { jsonObject } from '../translator-kit/response';
import { completionOf, errorOf, streamEventOf } from './types';
import { ANTHROPIC_FINISH, openAiFinishReason } from '../translator-kit/finish-reason';

export function handleAnthropicChatEvent(ev: StreamEvent, sink: StreamSink): void {
  const data = jsonObject(ev.data);
  if (!data) return;
  const e = streamEventOf(ev.event, data);
  switch (e.type) {
    case 'message_start': {
      sink.setId(e.message.id);
      const u = e.message.usage;
      if (u) sink.usage({ prompt_tokens: u.input_tokens, completion_tokens: u.output_tokens });
      sink.choice({ delta: { content: '', role: e.message.role ?? 'assistant' }, index: 0, logprobs: null });
      return;
    }
    case 'content_block_start': {
      const b = e.block;
      if (b.type === 'tool_use') {
        sink.choice({
          delta: { tool_calls: [{ index: e.index, id: b.id, type: 'function', function: { name: b.name, arguments: '' } }] },
          index: 0, finish_reason: null, logprobs: null,
        });
      } else {
        const t = b.type === 'text' ? b.text : '';
        sink.text(t);
        sink.choice({ delta: { content: t }, index: 0, finish_reason: null, logprobs: null });
      }
      return;
    }
    case 'content_block_delta': {
      if (e.delta.kind === 'input_json') {
        sink.choice({
          delta: { tool_calls: [{ index: e.index, function: { arguments: e.delta.partial_json } }] },
          index: 0, finish_reason: null, logprobs: null,
        });
        return;
      }
      sink.text(e.delta.text);
      sink.choice({ delta: { content: e.delta.text }, index: 0, finish_reason: null, logprobs: null });
      return;
    }
    case 'message_delta': {
      if (e.usage) sink.usage({ completion_tokens: e.usage.output_tokens, prompt_tokens: e.usage.input_tokens });
      if (e.stop_reason !== undefined) sink.choice({ delta: {}, index: 0, finish_reason: openAiFinishReason(ANTHROPIC_FINISH, e.stop_reason), logprobs: null });
      return;
    }
    case 'message_stop':
      sink.done();
      return;
    case 'error':
      sink.error(e.error.message, e.error.type);
      sink.done();
      return;
    case 'other':
      return;
  }
}

export function handleAnthropicCompletionEvent(ev: StreamEvent, sink: StreamSink): void {
  const data = jsonObject(ev.data);
  const type = ev.event ?? (typeof data?.['type'] === 'string' ? data['type'] : undefined);
  if (!data || !type) return;
  if (type === 'completion') {
    // An event without text still carries its stop_reason: read it as an empty completion.
    const c = completionOf(typeof data['completion'] === 'string' ? data : { ...data, completion: '' })!;
    sink.setId(c.log_id);
    sink.text(c.completion);
    sink.choice({ text: c.completion, index: 0, finish_reason: openAiFinishReason(ANTHROPIC_FINISH, c.stop_reason) ?? null, logprobs: null });
  } else if (type === 'error') {
    const e = errorOf(data);
    sink.error(e.message, e.type);
    sink.done();
  }
}

export function createAnthropicStreamTranslator(ctx: TranslateContext): StreamTranslator {
  return ctx.routeType === 'llm/v1/completions'
    ? createEventStreamTranslator(ctx, 'completions', new SseFramer(), handleAnthropicCompletionEvent)
    : createEventStreamTranslator(ctx, 'chat', new SseFramer(), handleAnthropicChatEvent);
}
