/**
 * OpenAI ↔ Cohere (Kong OSS kong/llm/drivers/cohere.lua): chat → `/v1/chat` with the last message as `message`
 * and earlier ones as `chat_history` (assistant → CHATBOT, every other role → USER), completions → `/v1/generate`,
 * `top_p` → `p`, `top_k` → `k`, `stream` explicit. Responses: v1 chat (`text`), generate (`generations`) and v2
 * chat (`message.content[]`). Usage prefers `token_count` (what the unit fixture expects), else `billed_units`.
 * Embeddings: `/v2/embed` (Cohere's format; Kong OSS has none).
 */
import { InvalidRequestError, TranslationError, UnsupportedFeatureError } from '../../errors';
import type { TokenUsage, TranslateContext, TranslatedResponse } from '../provider';
import type { StreamEvent } from '../streams/framer';
import type { StreamSink } from '../streams/translator';
import { embeddingInputs } from '../gemini/embeddings';
import { compact, type Json, mergeTuning, messagesOf, modelOptions, promptOf, textOf } from '../translator-kit/request';
import { arr, estimatedUsage, obj, parseJsonObject, usage, jsonObject } from '../translator-kit/response';

export function toCohere(body: Json, ctx: TranslateContext): Json {
  if (body['tools'] !== undefined) {
    throw new UnsupportedFeatureError('tools are not supported for provider cohere (v1 chat API)');
  }
  const t = mergeTuning(body, ctx);
  const out: Json = {};
  if (ctx.routeType === 'llm/v1/chat') {
    if (body['prompt'] !== undefined) throw new InvalidRequestError("cannot run a 'prompt' and a history of 'messages' at the same time - refer to schema");
    const messages = messagesOf(body, 'cohere');
    if (messages.length === 0) throw new InvalidRequestError("'messages' must not be empty");
    if (messages.length > 1) {
      out['chat_history'] = messages.slice(0, -1).map((m) => ({
        role: m.role === 'assistant' || m.role === 'CHATBOT' ? 'CHATBOT' : 'USER',
        message: textOf(m.content, 'cohere'),
      }));
    }
    out['message'] = textOf(messages[messages.length - 1]!.content, 'cohere');
  } else {
    out['prompt'] = promptOf(body, 'cohere');
  }
  const stop = typeof body['stop'] === 'string' ? [body['stop']] : Array.isArray(body['stop']) ? body['stop'] : undefined;
  // No object spread here: `{...o, k: undefined}` hits a slow V8 path (≈5 µs, bench/translators).
  return compact(Object.assign(out, {
    model: ctx.model,
    max_tokens: t.max_tokens,
    temperature: t.temperature,
    p: t.top_p,
    k: t.top_k,
    stop_sequences: stop,
    seed: body['seed'],
    frequency_penalty: body['frequency_penalty'],
    presence_penalty: body['presence_penalty'],
    stream: ctx.stream,
  }));
}

function cohereUsage(r: Json): TokenUsage | undefined {
  const tc = obj(r['token_count']);
  if (tc && typeof tc['prompt_tokens'] === 'number') return usage(tc['prompt_tokens'], tc['response_tokens'], tc['total_tokens']);
  const billed = obj(obj(r['meta'])?.['billed_units']) ?? obj(obj(r['usage'])?.['billed_units']);
  if (billed) return usage(billed['input_tokens'], billed['output_tokens']);
  return undefined;
}

const FINISH: Record<string, string> = { COMPLETE: 'stop', MAX_TOKENS: 'length', TOOL_CALL: 'tool_calls', STOP_SEQUENCE: 'stop', ERROR_TOXIC: 'content_filter' };

export function fromCohere(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const r = parseJsonObject(body, 'cohere');
  const gens = arr(r['generations']);
  let out: Json;
  let text: string;
  if (r['prompt'] !== undefined && gens) {
    const texts = gens.map((g) => String(obj(g)?.['text'] ?? ''));
    text = texts.join(' ');
    out = { id: r['id'], object: 'text_completion', model: ctx.model, choices: texts.map((t, index) => ({ index, text: t, finish_reason: 'stop' })) };
  } else if (typeof r['text'] === 'string') {
    text = r['text'];
    out = { id: r['generation_id'], object: 'chat.completion', model: ctx.model, choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }] };
  } else if (obj(r['message'])) {
    const m = obj(r['message'])!;
    const parts = arr(m['content']) ?? [];
    text = typeof m['tool_plan'] === 'string' ? m['tool_plan'] : parts.map((p) => String(obj(p)?.['text'] ?? '')).join('');
    const message: Json = { role: 'assistant', content: text };
    if (arr(m['tool_calls'])) message['tool_calls'] = m['tool_calls'];
    const fr = typeof r['finish_reason'] === 'string' ? (FINISH[r['finish_reason']] ?? r['finish_reason'].toLowerCase()) : 'stop';
    out = { id: r['id'], object: 'chat.completion', model: ctx.model, choices: [{ index: 0, message, finish_reason: fr }] };
  } else {
    throw new TranslationError("'text' or 'generations' missing from cohere response body");
  }
  const tokens = cohereUsage(r) ?? estimatedUsage(text);
  out['usage'] = tokens;
  return { body: compact(out), usage: tokens, model: ctx.model };
}

/** v1 stream (NDJSON): stream-start, text-generation, stream-end (with the final response and its counts). */
export function handleCohereEvent(ev: StreamEvent, sink: StreamSink): void {
  const e = jsonObject(ev.data);
  if (!e) return;
  const type = e['event_type'] ?? e['type'];
  if (type === 'stream-start') {
    sink.setId(typeof e['generation_id'] === 'string' ? e['generation_id'] : undefined);
    if (sink.kind === 'chat') sink.choice({ delta: { content: '', role: 'assistant' }, index: 0 });
  } else if (type === 'text-generation') {
    const t = typeof e['text'] === 'string' ? e['text'] : '';
    sink.text(t);
    if (sink.kind === 'chat') sink.choice({ delta: { content: t }, index: 0, finish_reason: null, logprobs: null });
    else sink.choice({ text: t, index: 0, finish_reason: null, logprobs: null });
  } else if (type === 'content-delta') {
    // v2 chat stream
    const t = String(obj(obj(obj(e['delta'])?.['message'])?.['content'])?.['text'] ?? '');
    sink.text(t);
    sink.choice({ delta: { content: t }, index: 0, finish_reason: null, logprobs: null });
  } else if (type === 'stream-end' || type === 'message-end') {
    const resp = obj(e['response']) ?? obj(e['delta']) ?? {};
    const u = cohereUsage(resp);
    if (u) sink.usage(u);
    const reason = typeof e['finish_reason'] === 'string' ? e['finish_reason'] : typeof resp['finish_reason'] === 'string' ? resp['finish_reason'] : undefined;
    if (reason) {
      const fr = FINISH[reason] ?? reason.toLowerCase();
      if (sink.kind === 'chat') sink.choice({ delta: {}, index: 0, finish_reason: fr });
      else sink.choice({ text: '', index: 0, finish_reason: fr });
    }
    sink.done();
  }
}

export function toCohereEmbeddings(body: Json, ctx: TranslateContext): Json {
  return {
    model: ctx.model,
    texts: embeddingInputs(body, 'cohere'),
    input_type: modelOptions(ctx).cohere?.embedding_input_type ?? 'classification',
    embedding_types: ['float'],
  };
}

export function fromCohereEmbeddings(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const r = parseJsonObject(body, 'cohere');
  const e = r['embeddings'];
  const vectors = arr(e) ?? arr(obj(e)?.['float']);
  if (!vectors) throw new TranslationError("'embeddings' missing from cohere embed response");
  const billed = obj(obj(r['meta'])?.['billed_units']);
  const tokens = usage(billed?.['input_tokens'] ?? 0, 0);
  return {
    body: { object: 'list', model: ctx.model, data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })), usage: { prompt_tokens: tokens.prompt_tokens, total_tokens: tokens.total_tokens } },
    usage: tokens,
    model: ctx.model,
  };
}
