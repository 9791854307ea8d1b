/**
 * Llama 2 "raw" answers → OpenAI (Kong OSS llama2.lua from_raw): the text after the last `[/INST]` of
 * `generated_text`; usage when the server reports it, else Kong's word estimate.
 */
import { TranslationError } from '../../errors';
import type { TranslateContext, TranslatedResponse } from '../provider';
import { estimatedUsage, parseJson, usage } from '../translator-kit/response';
import { rawAnswerOf } from './types';

export function fromLlama2Raw(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const r = rawAnswerOf(parseJson(body, 'llama2'));
  if (typeof r === 'string') throw new TranslationError(r);
  const pieces = r.generated_text.split('[/INST]');
  const text = (pieces[pieces.length - 1] ?? '').trim();
  const tokens = r.usage ? usage(r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) : estimatedUsage(text);
  const choice = ctx.routeType === 'llm/v1/completions'
    ? { index: 0, text, finish_reason: 'stop' }
    : { index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' };
  return {
    body: { object: ctx.routeType === 'llm/v1/completions' ? 'text_completion' : 'chat.completion', model: ctx.model, choices: [choice], usage: tokens },
    usage: tokens,
    model: ctx.model,
  };
}
