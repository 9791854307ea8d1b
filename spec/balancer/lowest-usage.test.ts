import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Outcome } from '../../plugins/ai-proxy-advanced/balancer/balancer';
import { LowestUsageBalancer, usageDataPoint, type SupportedTokensCountStrategy } from '../../plugins/ai-proxy-advanced/balancer/lowest-usage';
import { UnsupportedFeatureError } from '../../plugins/ai-proxy-advanced/errors';
import type { TokensCountStrategy } from '../../schemas/config';
import { fakeDeps, nameOf, NONE, targets } from '../helpers/balancer-random';

function simulate(strategy: TokensCountStrategy, answer: (name: string) => Outcome, requests = 1000): Record<string, number> {
  const deps = fakeDeps(1);
  const b = new LowestUsageBalancer({ tokens_count_strategy: strategy }, targets({ a: 100, b: 100 }), deps);
  const counts: Record<string, number> = { a: 0, b: 0 };
  for (let i = 0; i < requests; i++) {
    const t = b.pick({ exclude: NONE })!;
    counts[nameOf(t)!]!++;
    b.report(t, answer(nameOf(t)!));
    deps.clock.advance(100);
  }
  return counts;
}

// a: big prompts, short answers; b: short prompts, long answers.
const answer = (n: string): Outcome =>
  n === 'a'
    ? { ok: true, latencyMs: 100, usage: { prompt_tokens: 900, completion_tokens: 50, total_tokens: 950 }, cost: 0.002 }
    : { ok: true, latencyMs: 100, usage: { prompt_tokens: 100, completion_tokens: 600, total_tokens: 700 }, cost: 0.009 };

describe('lowest-usage', () => {
  const CASES: Array<{ strategy: TokensCountStrategy; winner: string }> = [
    { strategy: 'total-tokens', winner: 'b' },
    { strategy: 'prompt-tokens', winner: 'b' },
    { strategy: 'completion-tokens', winner: 'a' },
    { strategy: 'cost', winner: 'a' },
  ];
  for (const c of CASES) {
    test(`with ${c.strategy} the target with the lower decayed usage gets most requests`, () => {
      const counts = simulate(c.strategy, answer);
      const loser = c.winner === 'a' ? 'b' : 'a';
      assert.ok(counts[c.winner]! > counts[loser]! * 3, JSON.stringify(counts));
      assert.ok(counts[loser]! > 0, 'the other target is still probed');
    });
  }

  const POINTS: Array<{ strategy: SupportedTokensCountStrategy; outcome: Outcome; expected: number | undefined }> = [
    { strategy: 'total-tokens', outcome: { ok: true, usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } }, expected: 7 },
    { strategy: 'total-tokens', outcome: { ok: true, usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 0 } }, expected: 7 },
    { strategy: 'prompt-tokens', outcome: { ok: true, usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } }, expected: 3 },
    { strategy: 'completion-tokens', outcome: { ok: true, usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } }, expected: 4 },
    { strategy: 'cost', outcome: { ok: true, cost: 0.25 }, expected: 0.25 },
    { strategy: 'cost', outcome: { ok: true }, expected: 0 },
    { strategy: 'total-tokens', outcome: { ok: true }, expected: undefined },
  ];
  for (const p of POINTS) {
    test(`a ${p.strategy} data point from ${JSON.stringify(p.outcome)} is ${String(p.expected)}`, () => {
      assert.equal(usageDataPoint(p.strategy, p.outcome), p.expected);
    });
  }

  test('llm-accuracy is refused with an error naming the setting and the missing plugin', () => {
    assert.throws(
      () => new LowestUsageBalancer({ tokens_count_strategy: 'llm-accuracy' }, targets({ a: 1 }), fakeDeps()),
      (e: unknown) =>
        e instanceof UnsupportedFeatureError &&
        e.code === 'AIPA_ERR_UNSUPPORTED_FEATURE' &&
        e.message.includes("tokens_count_strategy 'llm-accuracy'") &&
        e.message.includes('ai-llm-as-judge'),
    );
  });

  test('a failing target is pushed back behind the working one', () => {
    const counts = simulate('total-tokens', (n) => (n === 'a' ? { ok: false } : answer('b')));
    assert.ok(counts.b! > counts.a! * 3, JSON.stringify(counts));
  });
});
