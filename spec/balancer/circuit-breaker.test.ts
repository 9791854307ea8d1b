import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_RETRY_AFTER_MS, TargetHealth, type AttemptFailure } from '../../plugins/ai-proxy-advanced/balancer/circuit-breaker';
import { RoundRobinBalancer } from '../../plugins/ai-proxy-advanced/balancer/round-robin';
import type { BalancerConfig, FailoverCriterion } from '../../schemas/config';
import { filledBalancer } from '../helpers/filled-config';
import { fakeClock, fakeDeps, nameOf, NONE, tally, targets } from '../helpers/balancer-random';

const ERROR: AttemptFailure = { kind: 'error' };
const http = (status: number, retryAfterMs?: number): AttemptFailure => ({ kind: 'http', status, retryAfterMs });

function health(config: BalancerConfig, names: Record<string, number> = { a: 100, b: 100 }) {
  const clock = fakeClock();
  return { clock, h: new TargetHealth(filledBalancer(config), targets(names), clock.now) };
}

describe('circuit breaker', () => {
  const COUNT_CASES: Array<{ criteria: FailoverCriterion[] | undefined; failure: AttemptFailure; counts: boolean }> = [
    { criteria: undefined, failure: { kind: 'error' }, counts: true },
    { criteria: undefined, failure: { kind: 'timeout' }, counts: true },
    { criteria: ['http_500'], failure: { kind: 'invalid_header' }, counts: true },
    { criteria: ['error', 'timeout'], failure: http(500), counts: false },
    { criteria: ['http_500'], failure: http(500), counts: true },
    { criteria: ['http_502', 'http_503', 'http_504'], failure: http(503), counts: true },
    { criteria: ['http_429'], failure: http(429), counts: true },
    { criteria: ['error'], failure: http(429), counts: false },
    { criteria: ['http_403', 'http_404'], failure: http(403), counts: false },
    { criteria: ['http_403', 'http_404'], failure: http(404), counts: false },
    { criteria: ['http_500', 'non_idempotent'], failure: http(400), counts: false },
  ];
  for (const c of COUNT_CASES) {
    const what = c.failure.kind === 'http' ? `http ${c.failure.status}` : c.failure.kind;
    test(`${what} ${c.counts ? 'counts' : 'does not count'} as a failure with failover_criteria ${JSON.stringify(c.criteria ?? 'default')}`, () => {
      const { h } = health({ max_fails: 1, failover_criteria: c.criteria ?? null });
      assert.equal(h.counts(c.failure), c.counts);
      assert.equal(h.recordFailure(0, c.failure), c.counts);
      assert.equal(h.excluded().has(0), c.counts);
    });
  }

  test('max_fails 0 (the default) never opens the circuit', () => {
    const { h } = health({});
    for (let i = 0; i < 100; i++) h.recordFailure(0, ERROR);
    assert.equal(h.excluded().size, 0);
    assert.equal(h.status(0).state, 'closed');
  });

  test('opens at max_fails, stays open for fail_timeout, then half-opens and a success closes it', () => {
    const { h, clock } = health({ max_fails: 3, fail_timeout: 10_000 });
    h.recordFailure(0, ERROR);
    h.recordFailure(0, ERROR);
    assert.equal(h.excluded().size, 0, 'two failures of three');
    h.recordFailure(0, ERROR);
    assert.deepEqual([...h.excluded()], [0]);
    assert.deepEqual(h.status(0), { state: 'open', fails: 3, excludedUntil: clock.now() + 10_000, reason: 'circuit-open' });
    clock.advance(9_999);
    assert.deepEqual([...h.excluded()], [0]);
    clock.advance(1);
    assert.equal(h.excluded().size, 0, 'half-open after fail_timeout');
    assert.equal(h.status(0).state, 'half-open');
    h.recordSuccess(0);
    assert.equal(h.status(0).state, 'closed');
    assert.equal(h.status(0).fails, 0);
    h.recordFailure(0, ERROR);
    assert.equal(h.excluded().size, 0, 'a closed circuit counts from zero again');
  });

  test('a failure while half-open opens the circuit for another fail_timeout', () => {
    const { h, clock } = health({ max_fails: 2, fail_timeout: 5_000 });
    h.recordFailure(1, ERROR);
    h.recordFailure(1, ERROR);
    clock.advance(5_000);
    assert.equal(h.excluded().size, 0);
    h.recordFailure(1, { kind: 'timeout' });
    assert.deepEqual([...h.excluded()], [1]);
    clock.advance(4_999);
    assert.deepEqual([...h.excluded()], [1]);
    clock.advance(1);
    assert.equal(h.excluded().size, 0);
  });

  test('failures are counted in total, not consecutively: successes in between do not reset the count', () => {
    const { h, clock } = health({ max_fails: 3, fail_timeout: 10_000 });
    for (let i = 0; i < 3; i++) {
      h.recordFailure(0, ERROR);
      clock.advance(1_000);
      h.recordSuccess(0);
    }
    assert.deepEqual([...h.excluded()], [0]);
  });

  test('a success once fail_timeout has passed since the last failure resets the count', () => {
    const { h, clock } = health({ max_fails: 3, fail_timeout: 10_000 });
    h.recordFailure(0, ERROR);
    h.recordFailure(0, ERROR);
    clock.advance(10_000);
    h.recordSuccess(0);
    h.recordFailure(0, ERROR);
    assert.equal(h.excluded().size, 0);
    assert.equal(h.status(0).fails, 1);
  });

  test('recordFailure takes the engine\'s AttemptFailure as the attempt loop reports it', () => {
    const { h } = health({ max_fails: 1, failover_criteria: ['http_502'] });
    const failure: AttemptFailure = { kind: 'http', status: 502, sent: true, retryAfterMs: undefined };
    assert.equal(h.recordFailure(1, failure), true);
    assert.deepEqual([...h.excluded()], [1]);
  });
});

describe('Retry-After exclusion', () => {
  test('a 429 with Retry-After keeps the target out for that long, whatever max_fails says', () => {
    const { h, clock } = health({});
    assert.equal(h.recordFailure(0, http(429, 5_000)), false);
    assert.deepEqual([...h.excluded()], [0]);
    assert.equal(h.status(0).reason, 'retry-after');
    clock.advance(4_999);
    assert.deepEqual([...h.excluded()], [0]);
    clock.advance(1);
    assert.equal(h.excluded().size, 0);
  });

  test('a 503 with Retry-After excludes too; other statuses and a 429 without it do not', () => {
    const { h } = health({}, { a: 1, b: 1, c: 1, d: 1 });
    h.recordFailure(0, http(503, 1_000));
    h.recordFailure(1, http(500, 1_000));
    h.recordFailure(2, http(429));
    h.recordFailure(3, { kind: 'error', retryAfterMs: 1_000 });
    assert.deepEqual([...h.excluded()], [0]);
  });

  test('the longest Retry-After wins, a success does not lift it, and it is capped at a minute', () => {
    const { h, clock } = health({});
    h.recordFailure(0, http(429, 30_000));
    h.recordFailure(0, http(429, 1_000));
    h.recordSuccess(0);
    clock.advance(29_999);
    assert.deepEqual([...h.excluded()], [0]);
    h.recordFailure(1, http(429, 7 * 24 * 3600 * 1000));
    assert.equal(h.status(1).excludedUntil, clock.now() + MAX_RETRY_AFTER_MS);
    assert.equal(MAX_RETRY_AFTER_MS, 60_000);
  });

  test('exclusions() unions health with the targets tried in this request, without copying when one side is empty', () => {
    const { h } = health({}, { a: 1, b: 1, c: 1 });
    const tried = new Set([2]);
    assert.equal(h.exclusions(tried), tried);
    h.recordFailure(0, http(429, 1_000));
    assert.equal(h.exclusions(NONE), h.excluded());
    assert.deepEqual([...h.exclusions(tried)].sort(), [0, 2]);
  });
});

describe('balancing with health', () => {
  test('round-robin skips a circuit-broken target until fail_timeout passes, then serves it again', () => {
    const deps = fakeDeps(1);
    const ts = targets({ good: 100, flaky: 100 });
    const b = new RoundRobinBalancer(ts, deps);
    const h = new TargetHealth({ max_fails: 2, fail_timeout: 10_000, failover_criteria: ['error', 'http_500'] }, ts, deps.now);
    const flaky = ts.find((t) => nameOf(t) === 'flaky')!;
    h.recordFailure(flaky.index, http(500));
    h.recordFailure(flaky.index, http(500));
    const during = tally(100, () => b.pick({ exclude: h.exclusions(NONE) }));
    assert.deepEqual(Object.fromEntries(during), { good: 100 });
    deps.clock.advance(10_000);
    const after = tally(100, () => b.pick({ exclude: h.exclusions(NONE) }));
    assert.deepEqual(Object.fromEntries([...after].sort()), { flaky: 50, good: 50 });
  });
});
