/**
 * OpenAI → Ollama requests (Kong OSS kong/llm/drivers/shared.lua to_ollama), shared by provider `ollama` and the
 * `ollama` formats of `llama2` and `mistral`: {model, messages | prompt, stream, tools, options: {num_predict,
 * temperature, top_p, top_k}}; `options` is sent only when the target has model.options, as in Kong. OpenAI image
 * parts become Ollama's `images` (base64) and tool calls carry parsed arguments.
 */
import { InvalidRequestError } from '../../errors';
import { contentPartOf } from '../openai/types';
import type { TranslateContext } from '../provider';
import { type ChatMessage, compact, type Json, mergeTuning } from '../translator-kit/request';

function toOllamaMessage(m: ChatMessage): Json {
  if (!Array.isArray(m.content) && !Array.isArray(m.tool_calls)) return m;
  const out: Json = { role: m.role };
  if (Array.isArray(m.content)) {
    const texts: string[] = [];
    const images: string[] = [];
    for (const part of m.content) {
      const p = contentPartOf(part);
      if (p.type === 'text') texts.push(p.text ?? '');
      else if (p.type === 'image_url') {
        const b64 = /^data:[^;,]*;base64,(.*)$/s.exec(p.url ?? '')?.[1];
        if (!b64) throw new InvalidRequestError('Ollama takes images only as base64 data URLs');
        images.push(b64);
      } else throw new InvalidRequestError(`message part type '${p.name}' is not supported by Ollama`);
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

