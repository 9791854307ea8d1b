import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RoundRobinBalancer, MAX_WHEEL_SIZE, buildWheel, wheelSlots } from '../../plugins/ai-proxy-advanced/balancer/round-robin';
import { fakeDeps, nameOf, NONE, seededRandom, tally, targets } from '../helpers/balancer-random';

// Case table in the style of undici's balanced-pool tests: weights, excluded names, picks, expected shares.
const SHARE_CASES: Array<{ title: string; weights: Record<string, number>; exclude?: string[]; picks: number; expected: Record<string, number> }> = [
  { title: 'equal weights share equally', weights: { a: 100, b: 100, c: 100 }, picks: 3000, expected: { a: 1 / 3, b: 1 / 3, c: 1 / 3 } },
  { title: 'weights 70/25/5 get 70/25/5 % of the traffic', weights: { a: 70, b: 25, c: 5 }, picks: 20_000, expected: { a: 0.7, b: 0.25, c: 0.05 } },
  { title: 'an excluded target gives its share to the others by weight', weights: { a: 70, b: 25, c: 5 }, exclude: ['b'], picks: 15_000, expected: { a: 70 / 75, c: 5 / 75 } },
  { title: 'co-prime weights beyond the wheel cap keep their proportions', weights: { a: 65_535, b: 30_011, c: 1 }, picks: 95_547, expected: { a: 65_535 / 95_547, b: 30_011 / 95_547, c: 1 / 95_547 } },
];

describe('round-robin', () => {
  for (const c of SHARE_CASES) {
    test(c.title, () => {
      const ts = targets(c.weights);
      const b = new RoundRobinBalancer(ts, fakeDeps(7));
      const exclude = new Set(ts.filter((t) => c.exclude?.includes(nameOf(t)!)).map((t) => t.index));
      const counts = tally(c.picks, () => b.pick({ exclude }));
      for (const [name, share] of Object.entries(c.expected)) {
        const got = (counts.get(name) ?? 0) / c.picks;
        assert.ok(Math.abs(got - share) <= Math.max(0.01, share * 0.03), `${name}: got ${got}, want ${share}`);
      }
      for (const name of c.exclude ?? []) assert.equal(counts.get(name), undefined, `${name} was excluded`);
    });
  }

  test('every turn of the wheel gives each target exactly weight/gcd picks', () => {
    const ts = targets({ a: 70, b: 25, c: 5 });
    const b = new RoundRobinBalancer(ts, fakeDeps(3));
    for (let turn = 0; turn < 5; turn++) {
      const counts = tally(20, () => b.pick({ exclude: NONE }));
      assert.deepEqual(Object.fromEntries(counts), { a: 14, b: 5, c: 1 });
    }
  });

  test('the wheel is shuffled with the injected random, so different seeds give different orders', () => {
    const ts = targets({ a: 1, b: 1, c: 1, d: 1, e: 1, f: 1 });
    const order = (seed: number) => {
      const b = new RoundRobinBalancer(ts, fakeDeps(seed));
      return Array.from({ length: 6 }, () => nameOf(b.pick({ exclude: NONE }))).join('');
    };
    assert.equal(order(11), order(11));
    const orders = new Set([1, 2, 3, 4, 5, 6, 7, 8].map(order));
    assert.ok(orders.size > 1, 'all seeds produced the same order');
    for (const o of orders) assert.equal([...o].sort().join(''), 'abcdef');
  });

  test('a retry skips the targets already tried and ends with no peer when all are tried', () => {
    const ts = targets({ a: 5, b: 3, c: 2 });
    const b = new RoundRobinBalancer(ts, fakeDeps(5));
    const tried = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const t = b.pick({ exclude: tried });
      assert.ok(t !== undefined);
      assert.ok(!tried.has(t.index), 'picked a tried target');
      tried.add(t.index);
    }
    assert.equal(b.pick({ exclude: tried }), undefined);
  });

  test('a single target is always picked', () => {
    const b = new RoundRobinBalancer(targets({ only: 100 }), fakeDeps(1));
    assert.deepEqual(Object.fromEntries(tally(10, () => b.pick({ exclude: NONE }))), { only: 10 });
  });

  test('the wheel holds weight/gcd slots per target and is capped for huge co-prime weights', () => {
    assert.deepEqual(wheelSlots([70, 25, 5]), [14, 5, 1]);
    assert.deepEqual(wheelSlots([100, 100]), [1, 1]);
    const capped = wheelSlots([65_535, 65_534, 1]);
    const size = capped.reduce((a, b) => a + b, 0);
    assert.ok(size <= MAX_WHEEL_SIZE + 3, `wheel of ${size}`);
    assert.ok(capped[2]! >= 1, 'the lightest target keeps a slot');
    const wheel = buildWheel([3, 1], seededRandom(1));
    assert.deepEqual([...wheel].sort(), [0, 0, 0, 1]);
  });
});
