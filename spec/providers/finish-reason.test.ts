/**
 * Provider stop reasons → OpenAI finish_reason (translator-kit/finish-reason.ts), a deliberate difference from
 * Kong (docs/providers.md "finish_reason"): Kong's 01-unit_spec.lua anthropic fixture expects "stop_sequence"
 * and its gemini fails_safety case "safety"; OpenAI SDK users get OpenAI's closed set.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANTHROPIC_FINISH, BEDROCK_FINISH, GEMINI_FINISH, openAiFinishReason } from '../../plugins/ai-proxy-advanced/providers/translator-kit/finish-reason';
import { DRIVERS } from '../../plugins/ai-proxy-advanced/providers';
import { makeCtx, target } from '../helpers/providers-fixtures';

test('each provider reason maps to its OpenAI value; unknown ones pass unchanged, never through a prototype key', () => {
  const cases: Array<[typeof ANTHROPIC_FINISH, string, string]> = [
    [ANTHROPIC_FINISH, 'end_turn', 'stop'], [ANTHROPIC_FINISH, 'stop_sequence', 'stop'], [ANTHROPIC_FINISH, 'max_tokens', 'length'],
    [ANTHROPIC_FINISH, 'tool_use', 'tool_calls'], [ANTHROPIC_FINISH, 'refusal', 'content_filter'], [ANTHROPIC_FINISH, 'pause_turn', 'pause_turn'],
    [BEDROCK_FINISH, 'guardrail_intervened', 'content_filter'], [BEDROCK_FINISH, 'max_tokens', 'length'], [BEDROCK_FINISH, '__proto__', '__proto__'],
    [GEMINI_FINISH, 'STOP', 'stop'], [GEMINI_FINISH, 'MAX_TOKENS', 'length'], [GEMINI_FINISH, 'SAFETY', 'content_filter'], [GEMINI_FINISH, 'toString', 'toString'],
  ];
  for (const [map, reason, want] of cases) assert.equal(openAiFinishReason(map, reason), want, reason);
  assert.equal(openAiFinishReason(GEMINI_FINISH, 'STOP', true), 'tool_calls');
  assert.equal(openAiFinishReason(ANTHROPIC_FINISH, undefined), undefined);
  assert.equal(openAiFinishReason(ANTHROPIC_FINISH, null), undefined);
});

test('buffered answers carry the mapped value: Anthropic max_tokens → length, Gemini MAX_TOKENS → length', () => {
  const a = DRIVERS.anthropic!.fromResponse(200, {}, Buffer.from(JSON.stringify({ content: [{ type: 'text', text: 'cut' }], stop_reason: 'max_tokens', usage: { input_tokens: 1, output_tokens: 2 } })), makeCtx(target('anthropic', 'llm/v1/chat', 'claude')));
  assert.equal((a.body as { choices: Array<{ finish_reason: string }> }).choices[0]!.finish_reason, 'length');
  const g = DRIVERS.gemini!.fromResponse(200, {}, Buffer.from(JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'cut' }] }, finishReason: 'MAX_TOKENS' }] })), makeCtx(target('gemini', 'llm/v1/chat', 'gemini-pro', { gemini: { api_endpoint: 'generativelanguage.googleapis.com' } }), {}));
  assert.equal((g.body as { choices: Array<{ finish_reason: string }> }).choices[0]!.finish_reason, 'length');
});
