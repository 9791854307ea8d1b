import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Outcome } from '../../plugins/ai-proxy-advanced/balancer/balancer';
import { DECAY_TIME_MS, EwmaScoreboard } from '../../plugins/ai-proxy-advanced/balancer/ewma';
import { LowestLatencyBalancer, latencyDataPoint } from '../../plugins/ai-proxy-advanced/balancer/lowest-latency';
import type { LatencyStrategy } from '../../schemas/config';
import { fakeDeps, nameOf, NONE, targets } from '../helpers/balancer-random';
import { filledBalancer } from '../helpers/filled-config';

const usage = (completion: number) => ({ prompt_tokens: 10, completion_tokens: completion, total_tokens: 10 + completion });

/** Sequential traffic: one request every `everyMs`, answered with `answer(name)`. Returns picks per name. */
function simulate(
  weights: Record<string, number>,
  strategy: LatencyStrategy,
  answer: (name: string) => Outcome,
  { requests = 2000, everyMs = 50 } = {},
): Record<string, number> {
  const deps = fakeDeps(1);
  const b = new LowestLatencyBalancer({ latency_strategy: strategy }, targets(weights), deps);
  const counts: Record<string, number> = Object.fromEntries(Object.keys(weights).map((k) => [k, 0]));
  for (let i = 0; i < requests; i++) {
    const t = b.pick({ exclude: NONE })!;
    counts[nameOf(t)!]!++;
    b.report(t, answer(nameOf(t)!));
    deps.clock.advance(everyMs);
  }
  return counts;
}

describe('lowest-latency', () => {
  test('prefers the fast target but keeps probing the slow one', () => {
    const counts = simulate({ fast: 100, slow: 100 }, 'e2e', (n) => ({ ok: true, latencyMs: n === 'fast' ? 100 : 1000 }));
    assert.ok(counts.fast! / 2000 > 0.9, `fast got ${counts.fast}`);
    assert.ok(counts.slow! >= 2, `slow was probed ${counts.slow} times in 100 s`);
  });

  test('a faster target takes over when the leader slows down', () => {
    const deps = fakeDeps(1);
    const b = new LowestLatencyBalancer({ latency_strategy: 'e2e' }, targets({ a: 100, b: 100 }), deps);
    let aLatency = 100;
    const last: string[] = [];
    for (let i = 0; i < 4000; i++) {
      if (i === 2000) aLatency = 2000;
      const t = b.pick({ exclude: NONE })!;
      b.report(t, { ok: true, latencyMs: nameOf(t) === 'a' ? aLatency : 400 });
      if (i >= 3500) last.push(nameOf(t)!);
      deps.clock.advance(50);
    }
    assert.ok(last.filter((n) => n === 'b').length / last.length > 0.8);
  });

  test('tpot ranks by time per output token, e2e by total latency', () => {
    // long: 4 s for 400 tokens = 10 ms/token; short: 1 s for 10 tokens = 100 ms/token.
    const answer = (n: string): Outcome =>
      n === 'long' ? { ok: true, latencyMs: 4000, usage: usage(400) } : { ok: true, latencyMs: 1000, usage: usage(10) };
    const tpot = simulate({ long: 100, short: 100 }, 'tpot', answer);
    const e2e = simulate({ long: 100, short: 100 }, 'e2e', answer);
    assert.ok(tpot.long! > tpot.short! * 5, `tpot ${JSON.stringify(tpot)}`);
    assert.ok(e2e.short! > e2e.long! * 5, `e2e ${JSON.stringify(e2e)}`);
  });

  const POINTS: Array<{ strategy: LatencyStrategy; outcome: Outcome; expected: number | undefined }> = [
    { strategy: 'e2e', outcome: { ok: true, latencyMs: 250, usage: usage(50) }, expected: 250 },
    { strategy: 'tpot', outcome: { ok: true, latencyMs: 250, usage: usage(50) }, expected: 5 },
    { strategy: 'tpot', outcome: { ok: true, latencyMs: 250, usage: usage(0) }, expected: 250 },
    { strategy: 'tpot', outcome: { ok: true, latencyMs: 250 }, expected: 250 },
    { strategy: 'e2e', outcome: { ok: true }, expected: undefined },
  ];
  for (const p of POINTS) {
    test(`a ${p.strategy} data point from ${JSON.stringify(p.outcome)} is ${String(p.expected)}`, () => {
      assert.equal(latencyDataPoint(p.strategy, p.outcome), p.expected);
    });
  }

  test('the score is divided by weight, so with equal latency the heavier target gets more traffic', () => {
    const counts = simulate({ heavy: 300, light: 100 }, 'e2e', () => ({ ok: true, latencyMs: 200 }), { requests: 3000, everyMs: 20 });
    assert.ok(counts.heavy! > counts.light! * 1.5, JSON.stringify(counts));
  });

  test('an idle target decays towards zero and is re-probed', () => {
    const deps = fakeDeps(1);
    const b = new LowestLatencyBalancer({ latency_strategy: 'e2e' }, targets({ a: 100, b: 100 }), deps);
    const [a, slow] = [b.pick({ exclude: NONE })!, b.pick({ exclude: NONE })!];
    b.report(a, { ok: true, latencyMs: 100 });
    b.report(slow, { ok: true, latencyMs: 1000 });
    // 1000·exp(−t/10 s) < 100 once t > 10 s·ln 10 ≈ 23 s (a is kept busy at 100 ms).
    let probedAfter = -1;
    for (let ms = 0; ms < 60_000; ms += 100) {
      const t = b.pick({ exclude: NONE })!;
      b.report(t, { ok: true, latencyMs: nameOf(t) === 'a' ? 100 : 1000 });
      if (t === slow) {
        probedAfter = ms;
        break;
      }
      deps.clock.advance(100);
    }
    assert.ok(probedAfter > 20_000 && probedAfter < 26_000, `probed after ${probedAfter} ms`);
    assert.ok(Math.abs(DECAY_TIME_MS * Math.log(10) - 23_026) < 1);
  });

  test('targets with no data yet take turns before any feedback arrives', () => {
    const b = new LowestLatencyBalancer(filledBalancer(), targets({ a: 100, b: 100, c: 100 }), fakeDeps(1));
    const firstRound = [1, 2, 3].map(() => nameOf(b.pick({ exclude: NONE })));
    assert.deepEqual(firstRound.sort(), ['a', 'b', 'c']);
  });

  test('a target that fails fast is not mistaken for the fastest', () => {
    const counts = simulate({ ok: 100, broken: 100 }, 'e2e', (n) =>
      n === 'broken' ? { ok: false, latencyMs: 1 } : { ok: true, latencyMs: 300 },
    );
    assert.ok(counts.ok! / 2000 > 0.9, JSON.stringify(counts));
  });

  test('excluded targets are skipped and all excluded means no peer', () => {
    const b = new LowestLatencyBalancer(filledBalancer(), targets({ a: 100, b: 100 }), fakeDeps(1));
    for (let i = 0; i < 5; i++) assert.equal(nameOf(b.pick({ exclude: new Set([0]) })), 'b');
    assert.equal(b.pick({ exclude: new Set([0, 1]) }), undefined);
  });

  test('decayed scores match Kong\'s formula: ewma·w + x·(1−w) then exp(−Δt/10 s) when scoring', () => {
    const deps = fakeDeps(1);
    const ts = targets({ a: 100, b: 50 });
    const s = new EwmaScoreboard(ts, deps.now());
    s.record(0, 100, deps.now());
    assert.equal(s.value(0), 100);
    deps.clock.advance(5000);
    s.record(0, 300, deps.now());
    const w = Math.exp(-0.5);
    assert.ok(Math.abs(s.value(0) - (100 * w + 300 * (1 - w))) < 1e-9);
    deps.clock.advance(10_000);
    assert.ok(Math.abs(s.score(0, deps.now()) - (s.value(0) * Math.exp(-1)) / 100) < 1e-12);
    s.record(1, 40, deps.now());
    // b: 40/50 = 0.8 per weight unit; a decayed: ~0.66 → a still ranks lower.
    assert.equal(s.pickMin(NONE), s.score(0, deps.now()) < s.score(1, deps.now()) ? 0 : 1);
  });

  test('carried-over scores keep their values and new targets start at the mean', () => {
    const deps = fakeDeps(1);
    const old = new EwmaScoreboard(targets({ a: 100, b: 100 }), deps.now());
    old.record(0, 100, deps.now());
    old.record(1, 300, deps.now());
    const next = new EwmaScoreboard(targets({ a: 100, b: 100, c: 100 }), deps.now(), old.snapshot());
    assert.deepEqual([next.value(0), next.value(1), next.value(2)], [100, 300, 200]);
  });
});
