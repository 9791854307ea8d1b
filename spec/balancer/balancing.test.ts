/**
 * Whole-request simulations through the REAL attempt loop (engine/attempts.ts runAttempts) over the real
 * balancing state (balancer/registry.ts): each request picks with exclusions = tried ∪ unhealthy, every attempt
 * is reported by the loop itself, and failover follows failover_criteria. Only the provider is simulated: an
 * injected UpstreamCaller answers per target (the target is told by the model name in the request body) and
 * advances the fake clock by that target's latency. Seeded random; failures and latencies come from the case
 * table.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { balancerStateFor, clearBalancerRegistry } from '../../plugins/ai-proxy-advanced/balancer';
import { runAttempts, type AttemptDeps } from '../../plugins/ai-proxy-advanced/engine/attempts';
import type { AttemptFailure } from '../../plugins/ai-proxy-advanced/engine/failover';
import { parseRequestBody } from '../../plugins/ai-proxy-advanced/engine/parse-request';
import type { ClientRequest } from '../../plugins/ai-proxy-advanced/engine/pdk';
import { buildRuntime } from '../../plugins/ai-proxy-advanced/engine/runtime';
import type { UpstreamResult } from '../../plugins/ai-proxy-advanced/engine/upstream';
import { getDriver } from '../../plugins/ai-proxy-advanced/providers';
import type { BalancerConfig } from '../../schemas/config';
import { fakeClock, fakeDeps, targetConfig, type FakeClock } from '../helpers/balancer-random';
import { validConfig } from '../helpers/filled-config';

afterEach(() => clearBalancerRegistry());

interface Case {
  title: string;
  balancer: BalancerConfig;
  weights: Record<string, number>;
  /** Targets that fail every attempt, and how ('http' failures answer that status, with Retry-After when set). */
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

function client(hashHeader: string, hashKey: string | undefined): { client: ClientRequest; parsed: ReturnType<typeof parseRequestBody> } {
  const body = Buffer.from(JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }));
  const headers = new Map<string, string[]>([['content-type', ['application/json']]]);
  if (hashKey !== undefined) headers.set(hashHeader.toLowerCase(), [hashKey]);
  return {
    client: { body, headers, path: '/', rawQuery: '', query: {}, method: 'POST', uriCaptures: {} },
    parsed: parseRequestBody(body, 'application/json', 0),
  };
}

/** An OpenAI chat answer, as the provider sends it. */
function completion(model: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
    }),
  );
}

/**
 * The simulated provider: answers for the target whose model the request names, after its latency. Latency is
 * kept on its own clock (the attempt loop's `now`), so requests still arrive every `everyMs` on the balancer's
 * clock, as concurrent requests would, rather than one after the other.
 */
function provider(c: Case, clock: FakeClock, attempts: Record<string, number>): AttemptDeps['call'] {
  return async (req): Promise<UpstreamResult> => {
    const name = (JSON.parse((req.body as Buffer).toString('utf8')) as { model: string }).model;
    attempts[name] = (attempts[name] ?? 0) + 1;
    const failure = c.failing?.[name];
    if (failure === undefined) {
      clock.advance(c.latencyMs?.[name] ?? 100);
      return { ok: true, response: { status: 200, headers: { 'content-type': 'application/json' }, body: completion(name) } };
    }
    clock.advance(5);
    if (failure.kind !== 'http') return { ok: false, failure, message: `simulated ${failure.kind}` };
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (failure.retryAfterMs !== undefined) headers['retry-after'] = String(failure.retryAfterMs / 1000);
    return { ok: true, response: { status: failure.status ?? 500, headers, body: Buffer.from('{"error":{"message":"simulated"}}') } };
  };
}

async function run(c: Case): Promise<{ served: Record<string, number>; attempts: Record<string, number>; unserved: number }> {
  const deps = fakeDeps(9);
  const config = validConfig({ __plugin_id: c.title, targets: Object.entries(c.weights).map(([n, w]) => targetConfig(n, w)), balancer: c.balancer });
  const state = balancerStateFor(config, deps);
  const rt = buildRuntime(config, () => ({ balancer: state, health: state.health }));
  const served: Record<string, number> = {};
  const attempts: Record<string, number> = {};
  const latencyClock = fakeClock(0);
  const attemptDeps: AttemptDeps = {
    now: latencyClock.now,
    epochNow: deps.clock.now,
    call: provider(c, latencyClock, attempts),
    openStream: () => Promise.reject(new Error('these requests are not streamed')),
    getDriver,
    signDeps: { fetchJson: () => Promise.reject(new Error('no token endpoint here')), now: deps.clock.now, env: {} },
  };
  let unserved = 0;
  for (let r = 0; r < c.requests; r++) {
    const hashKey = c.hashKeys === undefined ? undefined : `key-${r % c.hashKeys}`;
    const { client: req, parsed } = client(config.balancer.hash_on_header, hashKey);
    const result = await runAttempts(rt, req, parsed, attemptDeps).catch(() => undefined);
    if (result?.kind === 'success') served[result.model] = (served[result.model] ?? 0) + 1;
    else unserved++;
    deps.clock.advance(c.everyMs);
  }
  return { served, attempts, unserved };
}

const CASES: Case[] = [
  {
    title: 'round-robin fails over from a broken target and the others share its traffic by weight',
    balancer: { algorithm: 'round-robin' },
    weights: { a: 60, b: 20, c: 20 },
    failing: { b: { kind: 'error', sent: false } },
    requests: 5000,
    everyMs: 10,
    served: { a: 0.75, c: 0.25 },
  },
  {
    title: 'with max_fails the broken target is only re-probed once per fail_timeout',
    balancer: { algorithm: 'round-robin', max_fails: 1, fail_timeout: 10_000 },
    weights: { a: 100, b: 100 },
    failing: { b: { kind: 'timeout', sent: false } },
    requests: 6000,
    everyMs: 10, // 60 s: at most ~6 probes of b
    served: { a: 1 },
    maxAttempts: { b: 7 },
  },
  {
    title: 'a 429 with Retry-After keeps the target out for that long',
    // The real loop fails a POST over on a 429 only when failover_criteria says so (nginx proxy_next_upstream).
    balancer: { algorithm: 'round-robin', failover_criteria: ['error', 'timeout', 'http_429', 'non_idempotent'] },
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
    failing: { top1: { kind: 'error', sent: false }, top2: { kind: 'error', sent: false } },
    requests: 1000,
    everyMs: 10,
    served: { low: 1 },
  },
  {
    title: 'priority keeps the lower group idle while one top target works',
    balancer: { algorithm: 'priority' },
    weights: { top1: 70, top2: 70, low: 25 },
    failing: { top1: { kind: 'error', sent: false } },
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
    failing: { d: { kind: 'error', sent: false } },
    requests: 8000,
    everyMs: 1,
    hashKeys: 2000,
    served: { a: 1 / 3, b: 1 / 3, c: 1 / 3 },
    tolerance: 0.08,
  },
];

describe('balancing whole requests', () => {
  for (const c of CASES) {
    test(c.title, async () => {
      const { served, attempts, unserved } = await run(c);
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

  test('consistent-hashing keeps each key on one target while that target works', async () => {
    const c: Case = {
      title: 'sticky',
      balancer: { algorithm: 'consistent-hashing', hash_on_header: 'X-Session' },
      weights: { a: 100, b: 100, c: 100 },
      requests: 3000,
      everyMs: 0,
      served: {},
    };
    const deps = fakeDeps(1);
    const config = validConfig({ __plugin_id: c.title, targets: ['a', 'b', 'c'].map((n) => targetConfig(n)), balancer: c.balancer });
    const state = balancerStateFor(config, deps);
    const rt = buildRuntime(config, () => ({ balancer: state, health: state.health }));
    const attempts: Record<string, number> = {};
    const attemptDeps: AttemptDeps = {
      now: deps.clock.now,
      epochNow: deps.clock.now,
      call: provider(c, deps.clock, attempts),
      openStream: () => Promise.reject(new Error('these requests are not streamed')),
      getDriver,
      signDeps: { fetchJson: () => Promise.reject(new Error('no token endpoint here')), now: deps.clock.now, env: {} },
    };
    const home = new Map<string, string>();
    for (let r = 0; r < c.requests; r++) {
      const key = `s-${r % 300}`;
      const { client: req, parsed } = client('X-Session', key);
      const result = await runAttempts(rt, req, parsed, attemptDeps);
      assert.equal(result.kind, 'success');
      if (!home.has(key)) home.set(key, result.model);
      assert.equal(result.model, home.get(key));
    }
    assert.equal(new Set(home.values()).size, 3);
  });
});
