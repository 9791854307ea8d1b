/**
 * Bedrock ConverseStream events (AWS event-stream messages) → OpenAI chunks (Kong OSS bedrock.lua
 * handle_stream_event): messageStart → role, contentBlockStart(toolUse) / contentBlockDelta → content or tool-call
 * deltas, messageStop → finish_reason, metadata → usage and the end of the stream. Exceptions (`:message-type`
 * exception/error) become one error frame.
 */
import type { AwsEventMessage } from '../streams/aws-eventstream';
import type { StreamSink } from '../streams/translator';
import type { Json } from '../translator-kit/request';
import { obj } from '../translator-kit/response';
import { STOP_REASON } from './converse';

export function handleConverseEvent(msg: AwsEventMessage, sink: StreamSink): void {
  const type = msg.headers[':message-type'];
  let body: Json | undefined;
  try {
    body = obj(JSON.parse(msg.body || '{}'));
  } catch {
    body = undefined;
  }
  if (type === 'exception' || type === 'error') {
    const name = String(msg.headers[':exception-type'] ?? msg.headers[':error-code'] ?? 'BedrockStreamError');
    sink.error(String(body?.['message'] ?? msg.headers[':error-message'] ?? name), name);
    sink.done();
    return;
  }
  if (!body) return;
  switch (msg.headers[':event-type']) {
    case 'messageStart':
      sink.choice({ delta: { content: '', role: body['role'] ?? 'assistant' }, index: 0, logprobs: null });
      return;
    case 'contentBlockStart': {
      const tu = obj(obj(body['start'])?.['toolUse']);
      if (tu) {
        sink.choice({
          delta: { tool_calls: [{ index: body['contentBlockIndex'] ?? 0, id: tu['toolUseId'], type: 'function', function: { name: tu['name'], arguments: '' } }] },
          index: 0, logprobs: null,
        });
      }
      return;
    }
    case 'contentBlockDelta': {
      const d = obj(body['delta']) ?? {};
      const tu = obj(d['toolUse']);
      if (tu) {
        sink.choice({ delta: { tool_calls: [{ index: body['contentBlockIndex'] ?? 0, function: { arguments: tu['input'] ?? '' } }] }, index: 0, logprobs: null });
        return;
      }
      const t = typeof d['text'] === 'string' ? d['text'] : '';
      sink.text(t);
      sink.choice({ delta: { content: t }, index: 0, logprobs: null });
      return;
    }
    case 'messageStop': {
      const stop = typeof body['stopReason'] === 'string' ? body['stopReason'] : '';
      sink.choice({ delta: {}, index: 0, finish_reason: STOP_REASON[stop] ?? 'stop', logprobs: null });
      return;
    }
    case 'metadata': {
      const u = obj(body['usage']);
      if (u) sink.usage({ prompt_tokens: num(u['inputTokens']), completion_tokens: num(u['outputTokens']), total_tokens: num(u['totalTokens']) });
      sink.done();
      return;
    }
    default:
      return; // contentBlockStop carries nothing for the client
  }
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}
