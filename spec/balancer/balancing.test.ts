/**
 * Whole-request simulations over BalancerState, the way the engine drives it: each request picks with
 * exclusions = tried ∪ unhealthy, reports every attempt, fails over to an untried target on failure. Fake
 * clock and seeded random; failures and latencies come from the case table.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { balancerStateFor, clearBalancerRegistry } from '../../plugins/ai-proxy-advanced/balancer';
import type { AttemptFailure } from '../../plugins/ai-proxy-advanced/balancer/circuit-breaker';
import type { BalancerConfig } from '../../schemas/config';
import { fakeDeps, nameOf, targetConfig } from '../helpers/balancer-random';

afterEach(() => clearBalancerRegistry());

interface Case {
  title: string;
  balancer: BalancerConfig;
  weights: Record<string, number>;
  /** Targets that fail every attempt, and how. */
  failing?: Record<string, AttemptFailure>;
  latencyMs?: Record<string, number>;
  requests: number;
  everyMs: number;
  hashKeys?: number;
  /** Share of requests served by each target (±tolerance). */
  served: Record<string, number>;
  tolerance?: number;
  /** Upper bound on attempts that reached each target. */
  maxAttempts?: Record<string, number>;
}

function run(c: Case): { served: Record<string, number>; attempts: Record<string, number>; unserved: number } {
  const deps = fakeDeps(9);
  const state = balancerStateFor(
    { __plugin_id: c.title, targets: Object.entries(c.weights).map(([n, w]) => targetConfig(n, w)), balancer: c.balancer },
    deps,
  );
  const served: Record<string, number> = {};
  const attempts: Record<string, number> = {};
  let unserved = 0;
  for (let r = 0; r < c.requests; r++) {
    const tried = new Set<number>();
    const hashKey = c.hashKeys === undefined ? undefined : `key-${r % c.hashKeys}`;
    let done = false;
    for (let attempt = 0; attempt <= 5 && !done; attempt++) {
      const t = state.pick({ hashKey, exclude: state.exclusions(tried) });
      if (t === undefined) break;
      tried.add(t.index);
      const name = nameOf(t)!;
      attempts[name] = (attempts[name] ?? 0) + 1;
      const failure = c.failing?.[name];
      const latencyMs = c.latencyMs?.[name] ?? 100;
      if (failure === undefined) {
        state.settle(t, { ok: true, latencyMs, usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 } });
        served[name] = (served[name] ?? 0) + 1;
        done = true;
      } else {
        state.settle(t, { ok: false, latencyMs: 5 }, failure);
      }
    }
    if (!done) unserved++;
    deps.clock.advance(c.everyMs);
  }
  return { served, attempts, unserved };
}

const CASES: Case[] = [
  {
    title: 'round-robin fails over from a broken target and the others share its traffic by weight',
    balancer: { algorithm: 'round-robin' },
    weights: { a: 60, b: 20, c: 20 },
    failing: { b: { kind: 'error' } },
    requests: 5000,
    everyMs: 10,
    served: { a: 0.75, c: 0.25 },
  },
  {
    title: 'with max_fails the broken target is only re-probed once per fail_timeout',
    balancer: { algorithm: 'round-robin', max_fails: 1, fail_timeout: 10_000 },
    weights: { a: 100, b: 100 },
    failing: { b: { kind: 'timeout' } },
    requests: 6000,
    everyMs: 10, // 60 s: at most ~6 probes of b
    served: { a: 1 },
    maxAttempts: { b: 7 },
  },
  {
    title: 'a 429 with Retry-After keeps the target out for that long',
    balancer: { algorithm: 'round-robin' },
    weights: { a: 100, b: 100 },
    failing: { b: { kind: 'http', status: 429, retryAfterMs: 20_000 } },
    requests: 6000,
    everyMs: 10, // 60 s: b is tried about once per 20 s
    served: { a: 1 },
    maxAttempts: { b: 4 },
  },
  {
    title: 'priority serves from the lower group only while the whole top group fails',
    balancer: { algorithm: 'priority' },
    weights: { top1: 70, top2: 70, low: 25 },
    failing: { top1: { kind: 'error' }, top2: { kind: 'error' } },
    requests: 1000,
    everyMs: 10,
    served: { low: 1 },
  },
  {
    title: 'priority keeps the lower group idle while one top target works',
    balancer: { algorithm: 'priority' },
    weights: { top1: 70, top2: 70, low: 25 },
    failing: { top1: { kind: 'error' } },
    requests: 1000,
    everyMs: 10,
    served: { top2: 1 },
    maxAttempts: { low: 0 },
  },
  {
    title: 'lowest-latency sends most traffic to the fast target',
    balancer: { algorithm: 'lowest-latency', latency_strategy: 'e2e' },
    weights: { fast: 100, slow: 100 },
    latencyMs: { fast: 80, slow: 900 },
    requests: 3000,
    everyMs: 20,
    served: { fast: 0.97, slow: 0.03 },
    tolerance: 0.03,
  },
  {
    title: 'consistent-hashing moves only the broken target\'s keys',
    balancer: { algorithm: 'consistent-hashing' },
    weights: { a: 100, b: 100, c: 100, d: 100 },
    failing: { d: { kind: 'error' } },
    requests: 8000,
    everyMs: 1,
    hashKeys: 2000,
    served: { a: 1 / 3, b: 1 / 3, c: 1 / 3 },
    tolerance: 0.08,
  },
];

describe('balancing whole requests', () => {
  for (const c of CASES) {
    test(c.title, () => {
      const { served, attempts, unserved } = run(c);
      assert.equal(unserved, 0);
      const tol = c.tolerance ?? 0.02;
      for (const name of Object.keys(c.weights)) {
        const want = c.served[name] ?? 0;
        const got = (served[name] ?? 0) / c.requests;
        assert.ok(Math.abs(got - want) <= tol, `${name} served ${got}, want ${want} (attempts ${JSON.stringify(attempts)})`);
      }
      for (const [name, max] of Object.entries(c.maxAttempts ?? {})) {
        assert.ok((attempts[name] ?? 0) <= max, `${name} got ${attempts[name]} attempts, at most ${max} expected`);
      }
    });
  }

  test('consistent-hashing keeps each key on one target while that target works', () => {
    const deps = fakeDeps(1);
    const state = balancerStateFor(
      { __plugin_id: 'sticky', targets: ['a', 'b', 'c'].map((n) => targetConfig(n)), balancer: { algorithm: 'consistent-hashing', hash_on_header: 'X-Session' } },
      deps,
    );
    const home = new Map<string, number>();
    for (let r = 0; r < 3000; r++) {
      const key = `s-${r % 300}`;
      const t = state.pick({ hashKey: key, exclude: state.exclusions(new Set()) })!;
      state.settle(t, { ok: true, latencyMs: 10 });
      if (!home.has(key)) home.set(key, t.index);
      assert.equal(t.index, home.get(key));
    }
    assert.equal(new Set(home.values()).size, 3);
  });
});
