/**
 * OpenAI → Cohere requests (Kong OSS kong/llm/drivers/cohere.lua): chat → `/v1/chat` with the last message as
 * `message` and earlier ones as `chat_history` (assistant → CHATBOT, every other role → USER), completions →
 * `/v1/generate`, `top_p` → `p`, `top_k` → `k`, `stream` explicit. Embeddings: `/v2/embed` (Cohere's format; Kong
 * OSS has none).
 */
import { InvalidRequestError, UnsupportedFeatureError } from '../../errors';
import type { TranslateContext } from '../provider';
import { embeddingInputs } from '../gemini/embeddings';
import { compact, type Json, mergeTuning, messagesOf, modelOptions, promptOf, textOf } from '../translator-kit/request';

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

export function toCohereEmbeddings(body: Json, ctx: TranslateContext): Json {
  return {
    model: ctx.model,
    texts: embeddingInputs(body, 'cohere'),
    input_type: modelOptions(ctx).cohere?.embedding_input_type ?? 'classification',
    embedding_types: ['float'],
  };
}

