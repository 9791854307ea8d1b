import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BalancerTarget } from '../../plugins/ai-proxy-advanced/balancer/balancer';
import { ConsistentHashingBalancer, pointsPerTarget } from '../../plugins/ai-proxy-advanced/balancer/consistent-hashing';
import { buildTargets } from '../../plugins/ai-proxy-advanced/balancer/targets';
import { ConfigError } from '../../plugins/ai-proxy-advanced/errors';
import { fakeDeps, nameOf, NONE, tally, targetConfig, targets } from '../helpers/balancer-random';
import { filledBalancer } from '../helpers/filled-config';

const KEYS = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);

function ring(ts: BalancerTarget[], seed = 1, slots?: number): ConsistentHashingBalancer {
  return new ConsistentHashingBalancer(filledBalancer(slots === undefined ? {} : { slots }), ts, fakeDeps(seed));
}

function mapping(b: ConsistentHashingBalancer): Map<string, string | undefined> {
  return new Map(KEYS.map((k) => [k, nameOf(b.pick({ hashKey: k, exclude: NONE }))]));
}

function names(n: number): Record<string, number> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`model-${i}`, 100]));
}

describe('consistent-hashing', () => {
  test('the same header value always reaches the same target', () => {
    const b = ring(targets(names(5)));
    for (const key of KEYS.slice(0, 500)) {
      const first = nameOf(b.pick({ hashKey: key, exclude: NONE }));
      for (let i = 0; i < 5; i++) assert.equal(nameOf(b.pick({ hashKey: key, exclude: NONE })), first);
    }
  });

  test('every build maps alike: other seeds and another target order give the same mapping', () => {
    const ts = targets(names(6));
    const reversed = buildTargets([...ts].reverse().map((t) => t.config));
    const a = mapping(ring(ts, 1));
    const b = mapping(ring(ts, 99));
    const c = mapping(ring(reversed, 5));
    assert.deepEqual(b, a);
    assert.deepEqual(c, a);
  });

  test('keys spread over targets in proportion to weight', () => {
    const cases: Array<Record<string, number>> = [{ a: 100, b: 100, c: 100, d: 100 }, { a: 70, b: 25, c: 5 }];
    for (const weights of cases) {
      const b = ring(targets(weights));
      const counts = tally(KEYS.length, (i) => b.pick({ hashKey: KEYS[i], exclude: NONE }));
      const total = Object.values(weights).reduce((x, y) => x + y, 0);
      for (const [name, w] of Object.entries(weights)) {
        const got = (counts.get(name) ?? 0) / KEYS.length;
        assert.ok(Math.abs(got - w / total) < 0.05, `${name}: ${got} vs ${w / total}`);
      }
    }
  });

  test('adding a target moves about 1/n of the keys, almost all of them to the new target', () => {
    const before = mapping(ring(targets(names(9))));
    const after = mapping(ring(targets(names(10))));
    let moved = 0;
    let movedToNew = 0;
    for (const [k, t] of before) {
      if (after.get(k) !== t) {
        moved++;
        if (after.get(k) === 'model-9') movedToNew++;
      }
    }
    const fraction = moved / KEYS.length;
    assert.ok(fraction > 0.05 && fraction < 0.2, `moved ${fraction}`);
    assert.ok(movedToNew / moved > 0.95, `only ${movedToNew}/${moved} moved to the new target`);
  });

  test('removing a target leaves every other key where it was', () => {
    const all = targets(names(8));
    const before = mapping(ring(all));
    const after = mapping(ring(buildTargets(all.filter((t) => nameOf(t) !== 'model-3').map((t) => t.config))));
    let stayed = 0;
    let others = 0;
    for (const [k, t] of before) {
      if (t === 'model-3') {
        assert.notEqual(after.get(k), 'model-3');
        continue;
      }
      others++;
      if (after.get(k) === t) stayed++;
    }
    assert.ok(stayed / others > 0.99, `${stayed}/${others} stayed`);
  });

  test('a retry walks the ring to the next untried target, the same one every time', () => {
    const ts = targets(names(5));
    const b = ring(ts);
    for (const key of KEYS.slice(0, 200)) {
      const first = b.pick({ hashKey: key, exclude: NONE })!;
      const tried = new Set([first.index]);
      const second = b.pick({ hashKey: key, exclude: tried })!;
      assert.notEqual(second.index, first.index);
      assert.equal(ring(ts, 42).pick({ hashKey: key, exclude: tried })!.index, second.index);
      tried.add(second.index);
      const third = b.pick({ hashKey: key, exclude: tried })!;
      assert.ok(!tried.has(third.index));
    }
    assert.equal(b.pick({ hashKey: 'k', exclude: new Set([0, 1, 2, 3, 4]) }), undefined);
  });

  test('without the header (absent or empty) traffic falls back to weighted round-robin', () => {
    const ts = targets({ a: 70, b: 25, c: 5 });
    const b = ring(ts);
    for (const hashKey of [undefined, '']) {
      const counts = tally(2000, () => b.pick({ hashKey, exclude: NONE }));
      assert.deepEqual(Object.fromEntries([...counts].sort()), { a: 1400, b: 500, c: 100 });
    }
    const counts = tally(300, () => b.pick({ exclude: new Set([0]) }));
    assert.equal(counts.get('a'), undefined);
    assert.equal(b.pick({ exclude: new Set([0, 1, 2]) }), undefined);
  });

  test('a small ring still places every target, and fewer slots than targets is a ConfigError', () => {
    const b = ring(targets({ a: 100, b: 100, c: 1 }), 1, 10);
    assert.deepEqual(b.pointCounts().map((n) => n >= 1), [true, true, true]);
    const seen = new Set(KEYS.slice(0, 2000).map((k) => nameOf(b.pick({ hashKey: k, exclude: NONE }))));
    assert.deepEqual([...seen].sort(), ['a', 'b', 'c']);
    const many = buildTargets(Array.from({ length: 11 }, (_, i) => targetConfig(`m${i}`)));
    assert.throws(() => ring(many, 1, 10), (e: unknown) => e instanceof ConfigError && /balancer\.slots \(10\)/.test(e.message));
  });

  test('points follow Kong\'s 160 per target with weights, capped at half the ring', () => {
    assert.deepEqual(pointsPerTarget([100, 100], 10_000), [160, 160]);
    assert.deepEqual(pointsPerTarget([70, 25, 5], 10_000), [336, 120, 24]);
    assert.deepEqual(pointsPerTarget(Array(100).fill(1), 10_000), Array(100).fill(50));
    assert.deepEqual(pointsPerTarget([1000, 1], 100), [49, 1]);
  });
});
