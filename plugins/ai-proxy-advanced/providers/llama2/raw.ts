/**
 * Llama 2 "raw" format (Kong OSS kong/llm/drivers/llama2.lua messages_to_inst / to_raw / from_raw), for
 * text-generation servers (Hugging Face TGI style): `{inputs: "<s>[INST] <<SYS>> … <</SYS>> … [/INST]",
 * parameters: {max_new_tokens, temperature, top_k, top_p, stream}}`. The answer is the text after the last
 * `[/INST]` of `generated_text`. Kong reads `{data: [{generated_text}]}`; a bare `[{generated_text}]` (TGI) is
 * accepted too. Streams (TGI SSE `{token: {text}}`) are translated here; Kong OSS has no raw stream parser.
 */
import { InvalidRequestError, TranslationError } from '../../errors';
import type { TranslateContext, TranslatedResponse } from '../provider';
import { compact, type Json, mergeTuning, messagesOf, promptOf, textOf } from '../translator-kit/request';
import { arr, estimatedUsage, obj, parseJson, usage } from '../translator-kit/response';

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

export function toLlama2Raw(body: Json, ctx: TranslateContext): Json {
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

export function fromLlama2Raw(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const r = parseJson(body, 'llama2');
  const list = arr(obj(r)?.['data']) ?? arr(r);
  if (!list || list.length !== 1) throw new TranslationError('cannot parse response from llama2 endpoint');
  const generated = obj(list[0])?.['generated_text'];
  if (typeof generated !== 'string') throw new TranslationError('response data is empty from llama2 endpoint');
  const pieces = generated.split('[/INST]');
  const text = (pieces[pieces.length - 1] ?? '').trim();
  const u = obj(obj(r)?.['usage']);
  const tokens = u ? usage(u['prompt_tokens'], u['completion_tokens'], u['total_tokens']) : estimatedUsage(text);
  const choice = ctx.routeType === 'llm/v1/completions'
    ? { index: 0, text, finish_reason: 'stop' }
    : { index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' };
  return {
    body: { object: ctx.routeType === 'llm/v1/completions' ? 'text_completion' : 'chat.completion', model: ctx.model, choices: [choice], usage: tokens },
    usage: tokens,
    model: ctx.model,
  };
}

