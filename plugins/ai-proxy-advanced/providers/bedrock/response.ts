/**
 * Bedrock Converse → OpenAI answers (Kong OSS kong/llm/drivers/bedrock.lua from_bedrock_chat_openai): all text
 * blocks joined (Kong reads the first block only), every tool use kept, stopReason mapped to OpenAI's values
 * (translator-kit/finish-reason.ts; Kong's _OPENAI_STOP_REASON_MAPPING leaves guardrail_intervened as is), usage from `usage` else Kong's word estimate, `trace` passed on.
 */
import { TranslationError } from '../../errors';
import type { TranslateContext, TranslatedResponse } from '../provider';
import type { Json } from '../translator-kit/request';
import { estimatedUsage, parseJsonObject, usage } from '../translator-kit/response';
import { answerOf } from './types';
import { BEDROCK_FINISH, openAiFinishReason } from '../translator-kit/finish-reason';

/** OpenAI finish_reason of a Converse stopReason (translator-kit/finish-reason.ts); none reported reads as 'stop'. */
export function finishReason(stop: string | undefined): string {
  return openAiFinishReason(BEDROCK_FINISH, stop) ?? 'stop';
}

export function fromConverse(body: Buffer, ctx: TranslateContext): TranslatedResponse {
  const r = answerOf(parseJsonObject(body, 'bedrock'));
  if (!r) throw new TranslationError('no generation candidates received from Bedrock, or max_tokens too short');
  const texts: string[] = [];
  const toolCalls: Json[] = [];
  for (const block of r.content) {
    if ('text' in block) texts.push(block.text);
    else if ('toolUse' in block) {
      const tu = block.toolUse;
      const input = tu.input !== null && typeof tu.input === 'object' && !Array.isArray(tu.input) ? tu.input : undefined;
      toolCalls.push({
        id: tu.toolUseId,
        type: 'function',
        function: { name: tu.name, arguments: input && Object.keys(input).length > 0 ? JSON.stringify(input) : '{}' },
      });
    }
  }
  const text = texts.length > 0 ? texts.join('\n') : null;
  const message: Json = { role: 'assistant', content: text };
  if (toolCalls.length > 0) message['tool_calls'] = toolCalls;
  const tokens = r.usage?.inputTokens !== undefined ? usage(r.usage.inputTokens, r.usage.outputTokens, r.usage.totalTokens) : estimatedUsage(text ?? '');
  const out: Json = {
    object: 'chat.completion',
    model: ctx.model,
    choices: [{ index: 0, message, finish_reason: finishReason(r.stopReason) }],
    usage: tokens,
  };
  if (r.trace !== undefined) out['trace'] = r.trace;
  return { body: out, usage: tokens, model: ctx.model };
}
