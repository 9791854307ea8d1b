/**
 * Ollama's native API format, shared by provider `ollama` and the `ollama` formats of `llama2` and `mistral`
 * (Kong OSS kong/llm/drivers/shared.lua to_ollama / from_ollama / handle_stream_event).
 *  - request: {model, messages | prompt, stream, tools, options: {num_predict, temperature, top_p, top_k}};
 *    `options` is sent only when the target has model.options, as in Kong;
 *  - response: eval_count / prompt_eval_count → usage; finish_reason from `done_reason`, else "length" when
 *    eval_count equals the configured max_tokens, else "stop";
 *  - stream: NDJSON objects, the one with `done: true` carries the counts.
 * OpenAI image parts become Ollama's `images` (base64) and tool calls are converted both ways.
 */
import { InvalidRequestError } from '../../errors';
import type { TranslateContext, TranslatedResponse } from '../provider';
import type { StreamEvent } from '../streams/framer';
import type { StreamSink } from '../streams/translator';
import { type ChatMessage, compact, type Json, mergeTuning, modelOptions } from '../translator-kit/request';
import { arr, obj, parseJsonObject, usage, jsonObject } from '../translator-kit/response';

function toOllamaMessage(m: ChatMessage): Json {
  if (!Array.isArray(m.content) && !Array.isArray(m.tool_calls)) return m;
  const out: Json = { role: m.role };
  if (Array.isArray(m.content)) {
    const texts: string[] = [];
    const images: string[] = [];
    for (const part of m.content) {
      const p = part as Json;
      if (p?.['type'] === 'text') texts.push(String(p['text'] ?? ''));
      else if (p?.['type'] === 'image_url') {
        const url = String((p['image_url'] as Json | undefined)?.['url'] ?? '');
        const b64 = /^data:[^;,]*;base64,(.*)$/s.exec(url)?.[1];
        if (!b64) throw new InvalidRequestError('Ollama takes images only as base64 data URLs');
        images.push(b64);
      } else throw new InvalidRequestError(`message part type '${String(p?.['type'])}' is not supported by Ollama`);
    }
    out['content'] = texts.join('');
    if (images.length > 0) out['images'] = images;
  } else out['content'] = m.content ?? '';
  if (Array.isArray(m.tool_calls)) {
    out['tool_calls'] = m.tool_calls.map((tc) => {
      let args: unknown = {};
      try {
        args = tc.function?.arguments ? JSON.parse(tc.function.arguments) : {};
      } catch (err) {
        throw new InvalidRequestError('tool call arguments are not JSON', { cause: err });
      }
      return { function: { name: tc.function?.name, arguments: args } };
    });
  }
  return out;
}

export function toOllama(body: Json, ctx: TranslateContext): Json {
  const hasPrompt = body['prompt'] !== undefined;
  const hasMessages = body['messages'] !== undefined;
  if (hasPrompt && hasMessages) {
    throw new InvalidRequestError("cannot run raw 'prompt' and chat history 'messages' requests at the same time - refer to schema");
  }
  const out: Json = { model: ctx.model };
  if (hasMessages) {
    if (!Array.isArray(body['messages'])) throw new InvalidRequestError("'messages' must be an array");
    out['messages'] = (body['messages'] as ChatMessage[]).map(toOllamaMessage);
  } else if (hasPrompt) out['prompt'] = body['prompt'];
  out['stream'] = ctx.stream;
  out['tools'] = body['tools'];
  if (ctx.target.model.options) {
    const t = mergeTuning(body, ctx);
    out['options'] = compact({ num_predict: t.max_tokens, temperature: t.temperature, top_p: t.top_p, top_k: t.top_k });
  }
  return compact(out);
}

function toolCallsOf(message: Json | undefined): Json[] | undefined {
  const calls = arr(message?.['tool_calls']);
  if (!calls) return undefined;
  return calls.map((c, i) => {
    const fn = obj(obj(c)?.['function']) ?? {};
    const args = fn['arguments'];
    return { id: `call_${i}`, type: 'function', function: { name: fn['name'], arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) } };
  });
}

function created(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

export function fromOllama(body: Buffer, ctx: TranslateContext, provider: string): TranslatedResponse {
  const r = parseJsonObject(body, provider);
  const tokens = usage(r['prompt_eval_count'] ?? 0, r['eval_count'] ?? 0);
  const model = typeof r['model'] === 'string' ? r['model'] : ctx.model;
  const maxTokens = modelOptions(ctx).max_tokens ?? -1;
  const finish = typeof r['done_reason'] === 'string' ? r['done_reason'] : r['eval_count'] === maxTokens ? 'length' : 'stop';
  const out: Json = { object: ctx.routeType === 'llm/v1/completions' ? 'text_completion' : 'chat.completion', model };
  const c = created(r['created_at']);
  if (c !== undefined) out['created'] = c;
  if (ctx.routeType === 'llm/v1/completions') {
    out['choices'] = [{ index: 0, text: typeof r['response'] === 'string' ? r['response'] : '', finish_reason: finish }];
  } else {
    const m = obj(r['message']) ?? {};
    const message: Json = { role: m['role'] ?? 'assistant', content: typeof m['content'] === 'string' ? m['content'] : '' };
    const calls = toolCallsOf(m);
    if (calls) message['tool_calls'] = calls;
    out['choices'] = [{ index: 0, message, finish_reason: calls && finish === 'stop' ? 'tool_calls' : finish }];
  }
  out['usage'] = tokens;
  return { body: out, usage: tokens, model };
}

export function handleOllamaEvent(ev: StreamEvent, sink: StreamSink): void {
  const r = jsonObject(ev.data);
  if (!r) return;
  if (typeof r['error'] === 'string') {
    sink.error(r['error'], 'ollama_error');
    sink.done();
    return;
  }
  sink.setModel(typeof r['model'] === 'string' ? r['model'] : undefined);
  if (r['done'] === true) {
    sink.usage({ prompt_tokens: (r['prompt_eval_count'] as number | undefined) ?? 0, completion_tokens: (r['eval_count'] as number | undefined) ?? 0 });
    const finish = typeof r['done_reason'] === 'string' ? r['done_reason'] : 'stop';
    const last = sink.kind === 'chat' ? obj(r['message']) : undefined;
    const tail = sink.kind === 'chat' ? (typeof last?.['content'] === 'string' ? last['content'] : '') : typeof r['response'] === 'string' ? r['response'] : '';
    sink.text(tail);
    if (sink.kind === 'chat') sink.choice({ delta: tail ? { content: tail } : {}, index: 0, finish_reason: finish });
    else sink.choice({ text: tail, index: 0, finish_reason: finish });
    sink.done();
    return;
  }
  if (sink.kind === 'chat') {
    const m = obj(r['message']);
    const content = typeof m?.['content'] === 'string' ? m['content'] : '';
    const calls = toolCallsOf(m);
    sink.text(content);
    const delta: Json = { content };
    if (calls) delta['tool_calls'] = calls.map((c, i) => ({ index: i, ...c }));
    sink.choice({ delta, index: 0, finish_reason: null });
  } else {
    const t = typeof r['response'] === 'string' ? r['response'] : '';
    sink.text(t);
    sink.choice({ text: t, index: 0, finish_reason: null });
  }
}
