/**
 * Bedrock ConverseStream events (AWS event-stream messages) → OpenAI chunks (Kong OSS bedrock.lua
 * handle_stream_event): messageStart → role, contentBlockStart(toolUse) / contentBlockDelta → content or tool-call
 * deltas, messageStop → finish_reason, metadata → usage and the end of the stream. Exceptions (`:message-type`
 * exception/error) become one error frame.
 */
import type { StreamTranslator, TranslateContext } from '../provider';
import { type AwsEventMessage, AwsEventStreamFramer } from '../streams/aws-eventstream';
import { createEventStreamTranslator, type StreamSink } from '../streams/translator';
import { jsonObject } from '../translator-kit/response';
import { finishReason } from './response';
import { streamEventOf } from './types';

export function handleConverseEvent(msg: AwsEventMessage, sink: StreamSink): void {
  const type = msg.headers[':message-type'];
  const body = jsonObject(msg.body || '{}');
  if (type === 'exception' || type === 'error') {
    const name = String(msg.headers[':exception-type'] ?? msg.headers[':error-code'] ?? 'BedrockStreamError');
    const message = typeof body?.['message'] === 'string' ? body['message'] : undefined;
    sink.error(message ?? String(msg.headers[':error-message'] ?? name), name);
    sink.done();
    return;
  }
  if (!body) return;
  const e = streamEventOf(msg.headers[':event-type'] as string | undefined, body);
  switch (e.type) {
    case 'messageStart':
      sink.choice({ delta: { content: '', role: e.role ?? 'assistant' }, index: 0, logprobs: null });
      return;
    case 'contentBlockStart':
      if (e.toolUse) {
        sink.choice({
          delta: { tool_calls: [{ index: e.index, id: e.toolUse.toolUseId, type: 'function', function: { name: e.toolUse.name, arguments: '' } }] },
          index: 0, logprobs: null,
        });
      }
      return;
    case 'contentBlockDelta':
      if (e.toolUseInput !== undefined) {
        sink.choice({ delta: { tool_calls: [{ index: e.index, function: { arguments: e.toolUseInput } }] }, index: 0, logprobs: null });
        return;
      }
      sink.text(e.text);
      sink.choice({ delta: { content: e.text }, index: 0, logprobs: null });
      return;
    case 'messageStop':
      sink.choice({ delta: {}, index: 0, finish_reason: finishReason(e.stopReason), logprobs: null });
      return;
    case 'metadata':
      if (e.usage) sink.usage({ prompt_tokens: e.usage.inputTokens, completion_tokens: e.usage.outputTokens, total_tokens: e.usage.totalTokens });
      sink.done();
      return;
    case 'other':
      return;
  }
}

export function createBedrockStreamTranslator(ctx: TranslateContext): StreamTranslator {
  return createEventStreamTranslator(ctx, 'chat', new AwsEventStreamFramer(), handleConverseEvent);
}
