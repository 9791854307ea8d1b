/**
 * OpenAI → Llama 2 "raw" requests (Kong OSS kong/llm/drivers/llama2.lua messages_to_inst / to_raw), for
 * text-generation servers (Hugging Face TGI style): `{inputs: "<s>[INST] <<SYS>> … <</SYS>> … [/INST]",
 * parameters: {max_new_tokens, temperature, top_k, top_p, stream}}`.
 */
import { InvalidRequestError } from '../../errors';
import type { TranslateContext } from '../provider';
import { compact, type Json, mergeTuning, messagesOf, promptOf, textOf } from '../translator-kit/request';
import type { Llama2RawRequest } from './types';

export function messagesToInst(body: Json): string {
  const parts: string[] = [];
  messagesOf(body, 'llama2').forEach((m, i) => {
    const text = textOf(m.content, 'llama2');
    if (i === 0) parts.push(`<s>[INST] <<SYS>> ${text} <</SYS>>`);
    else if (i === 1) parts.push(` ${text} [/INST]`);
    // Kong's loop: later 'system' turns close a model answer, 'user' turns open a new [INST]; assistant turns
    // are not replayed (the fixture expected-requests/llama2/raw/llm-v1-chat.json relies on it).
    else if (m.role === 'system') parts.push(` ${text} </s>`);
    else if (m.role === 'user') parts.push(` <s>[INST] ${text} [/INST]`);
  });
  return parts.join('');
}

export function toLlama2Raw(body: Json, ctx: TranslateContext): Llama2RawRequest {
  if (body['prompt'] !== undefined && body['messages'] !== undefined) {
    throw new InvalidRequestError("cannot run raw 'prompt' and chat history 'messages' requests at the same time - refer to schema");
  }
  const t = mergeTuning(body, ctx);
  const inputs = body['messages'] !== undefined
    ? messagesToInst(body)
    : `<s> [INST] <<SYS>> You are a helpful assistant. <<SYS>> ${promptOf(body, 'llama2')} [/INST]`;
  return {
    inputs,
    parameters: compact({ max_new_tokens: t.max_tokens, top_p: t.top_p, top_k: t.top_k, temperature: t.temperature, stream: ctx.stream }),
  };
}

