import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BalancerTarget } from '../../plugins/ai-proxy-advanced/balancer/balancer';
import { LeastConnectionsBalancer } from '../../plugins/ai-proxy-advanced/balancer/least-connections';
import { nameOf, NONE, tally, targets } from '../helpers/balancer-random';

describe('least-connections', () => {
  const HOLD_CASES: Array<{ title: string; weights: Record<string, number>; picks: number; expected: Record<string, number> }> = [
    { title: 'requests held open spread evenly over equal targets', weights: { a: 2, b: 2, c: 2 }, picks: 9, expected: { a: 3, b: 3, c: 3 } },
    { title: 'requests held open spread in proportion to weight', weights: { a: 200, b: 100 }, picks: 30, expected: { a: 20, b: 10 } },
  ];
  for (const c of HOLD_CASES) {
    test(c.title, () => {
      const b = new LeastConnectionsBalancer(targets(c.weights));
      const counts = tally(c.picks, () => b.pick({ exclude: NONE }));
      assert.deepEqual(Object.fromEntries([...counts].sort()), c.expected);
    });
  }

  test('a target with requests in flight is avoided until they complete', () => {
    const b = new LeastConnectionsBalancer(targets({ a: 1, b: 1 }));
    const held: BalancerTarget[] = [];
    held.push(b.pick({ exclude: NONE })!, b.pick({ exclude: NONE })!);
    const busy = held[0]!;
    held.push(b.pick({ exclude: NONE })!); // one more each: now 2 vs 1
    const idle = held.find((t) => t !== busy)!;
    for (const t of held) if (t === idle) b.report(t, { ok: true });
    assert.equal(b.connections(idle.index), 0);
    for (let i = 0; i < 2; i++) assert.equal(b.pick({ exclude: NONE }), idle);
  });

  test('ties are broken fairly: picks answered at once rotate over equal targets', () => {
    const b = new LeastConnectionsBalancer(targets({ a: 1, b: 1, c: 1, d: 1 }));
    const counts = tally(400, () => {
      const t = b.pick({ exclude: NONE })!;
      b.report(t, { ok: true });
      return t;
    });
    assert.deepEqual(Object.fromEntries([...counts].sort()), { a: 100, b: 100, c: 100, d: 100 });
  });

  test('excluded targets are skipped, all excluded means no peer, and counts never go below zero', () => {
    const ts = targets({ a: 1, b: 1 });
    const b = new LeastConnectionsBalancer(ts);
    for (let i = 0; i < 3; i++) assert.equal(nameOf(b.pick({ exclude: new Set([0]) })), 'b');
    assert.equal(b.pick({ exclude: new Set([0, 1]) }), undefined);
    b.report(ts[0]!, { ok: false });
    assert.equal(b.connections(0), 0);
    assert.equal(b.connections(1), 3);
  });
});
