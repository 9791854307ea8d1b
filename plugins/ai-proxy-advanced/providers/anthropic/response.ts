/**
 * Anthropic → OpenAI responses and stream events (Kong OSS kong/llm/drivers/anthropic.lua transformers_from and
 * handle_stream_event). `stop_reason` is passed through as `finish_reason` exactly like Kong (the unit fixture
 * expects "stop_sequence"); text blocks are joined with "\n".
 */
import { TranslationError } from '../../errors';
import type { TranslateContext, TranslatedResponse } from '../provider';
import type { StreamEvent } from '../streams/framer';
import type { StreamSink } from '../streams/translator';
import { compact, type Json } from '../translator-kit/request';
import { arr, estimatedUsage, obj, parseJsonObject, usage, jsonObject } from '../translator-kit/response';

export function fromAnthropicChat(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const r = parseJsonObject(body, 'anthropic');
  const content = arr(r['content']);
  if (!content) throw new TranslationError("'content' not in anthropic://llm/v1/chat response");
  const texts: string[] = [];
  const toolCalls: Json[] = [];
  for (const b of content) {
    const block = obj(b);
    if (typeof block?.['text'] === 'string') texts.push(block['text']);
    if (block?.['type'] === 'tool_use') {
      toolCalls.push({ id: block['id'], type: 'function', function: { name: block['name'], arguments: JSON.stringify(block['input'] ?? {}) } });
    }
  }
  const text = texts.join('\n');
  const message: Json = { role: 'assistant', content: text };
  if (toolCalls.length > 0) message['tool_calls'] = toolCalls;
  const u = obj(r['usage']);
  const model = typeof r['model'] === 'string' ? r['model'] : ctx.model;
  // Kong reports nothing for a missing or malformed usage block; we fall back to its word-count estimate.
  const tokens = u && typeof u['output_tokens'] === 'number' ? usage(u['input_tokens'], u['output_tokens']) : estimatedUsage(text);
  const out: Json = compact({
    id: typeof r['id'] === 'string' ? r['id'] : undefined,
    object: 'chat.completion',
    model,
    choices: [{ index: 0, message, finish_reason: r['stop_reason'] ?? null }],
    usage: tokens,
  });
  return { body: out, usage: tokens, model };
}

export function fromAnthropicCompletion(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const r = parseJsonObject(body, 'anthropic');
  if (typeof r['completion'] !== 'string') throw new TranslationError("'completion' not in anthropic://llm/v1/completions response");
  const model = typeof r['model'] === 'string' ? r['model'] : ctx.model;
  const tokens = estimatedUsage(r['completion']);
  const out: Json = compact({
    id: typeof r['id'] === 'string' ? r['id'] : undefined,
    object: 'text_completion',
    model,
    choices: [{ index: 0, text: r['completion'], finish_reason: r['stop_reason'] ?? null }],
    usage: tokens,
  });
  return { body: out, usage: tokens, model };
}

/** Messages API stream (SSE): message_start, content_block_*, message_delta, message_stop, ping, error. */
export function handleAnthropicChatEvent(ev: StreamEvent, sink: StreamSink): void {
  const data = jsonObject(ev.data);
  const type = ev.event ?? (typeof data?.['type'] === 'string' ? data['type'] : undefined);
  if (!data || !type) return;
  switch (type) {
    case 'message_start': {
      const m = obj(data['message']) ?? {};
      sink.setId(typeof m['id'] === 'string' ? m['id'] : undefined);
      const u = obj(m['usage']);
      if (u) sink.usage({ prompt_tokens: num(u['input_tokens']), completion_tokens: num(u['output_tokens']) });
      sink.choice({ delta: { content: '', role: m['role'] ?? 'assistant' }, index: 0, logprobs: null });
      return;
    }
    case 'content_block_start': {
      const b = obj(data['content_block']);
      if (b?.['type'] === 'tool_use') {
        sink.choice({
          delta: { tool_calls: [{ index: data['index'] ?? 0, id: b['id'], type: 'function', function: { name: b['name'], arguments: '' } }] },
          index: 0, finish_reason: null, logprobs: null,
        });
      } else {
        const t = typeof b?.['text'] === 'string' ? b['text'] : '';
        sink.text(t);
        sink.choice({ delta: { content: t }, index: 0, finish_reason: null, logprobs: null });
      }
      return;
    }
    case 'content_block_delta': {
      const d = obj(data['delta']) ?? {};
      if (d['type'] === 'input_json_delta') {
        sink.choice({
          delta: { tool_calls: [{ index: data['index'] ?? 0, function: { arguments: d['partial_json'] ?? '' } }] },
          index: 0, finish_reason: null, logprobs: null,
        });
        return;
      }
      const t = typeof d['text'] === 'string' ? d['text'] : '';
      sink.text(t);
      sink.choice({ delta: { content: t }, index: 0, finish_reason: null, logprobs: null });
      return;
    }
    case 'message_delta': {
      const u = obj(data['usage']);
      if (u) sink.usage({ completion_tokens: num(u['output_tokens']), prompt_tokens: num(u['input_tokens']) });
      const stop = obj(data['delta'])?.['stop_reason'];
      if (typeof stop === 'string') sink.choice({ delta: {}, index: 0, finish_reason: stop, logprobs: null });
      return;
    }
    case 'message_stop':
      sink.done();
      return;
    case 'error': {
      const e = obj(data['error']) ?? {};
      sink.error(String(e['message'] ?? 'anthropic stream error'), String(e['type'] ?? 'api_error'));
      sink.done();
      return;
    }
    default:
      return; // ping, content_block_stop and future event types carry nothing for the client
  }
}

/** Legacy Text Completions stream: `completion` events carry text, the last one a stop_reason. */
export function handleAnthropicCompletionEvent(ev: StreamEvent, sink: StreamSink): void {
  const data = jsonObject(ev.data);
  const type = ev.event ?? (typeof data?.['type'] === 'string' ? data['type'] : undefined);
  if (!data || !type) return;
  if (type === 'completion') {
    const t = typeof data['completion'] === 'string' ? data['completion'] : '';
    sink.setId(typeof data['log_id'] === 'string' ? data['log_id'] : undefined);
    sink.text(t);
    sink.choice({ text: t, index: 0, finish_reason: data['stop_reason'] ?? null, logprobs: null });
  } else if (type === 'error') {
    const e = obj(data['error']) ?? {};
    sink.error(String(e['message'] ?? 'anthropic stream error'), String(e['type'] ?? 'api_error'));
    sink.done();
  }
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}
