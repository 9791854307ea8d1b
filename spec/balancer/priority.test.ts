import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PriorityBalancer } from '../../plugins/ai-proxy-advanced/balancer/priority';
import { fakeDeps, nameOf, NONE, tally, targets } from '../helpers/balancer-random';

function excludeNames(ts: ReturnType<typeof targets>, names: string[]): Set<number> {
  return new Set(ts.filter((t) => names.includes(nameOf(t)!)).map((t) => t.index));
}

describe('priority', () => {
  test('targets of equal weight form groups, highest weight first (the DOCS 70/70/25 example)', () => {
    const ts = targets({ 'gpt-4': 70, 'gpt-4o-mini': 70, 'gpt-3': 25 });
    const b = new PriorityBalancer(ts, fakeDeps(1));
    assert.deepEqual(b.groupIndexes(), [[0, 1], [2]]);
    const counts = tally(1000, () => b.pick({ exclude: NONE }));
    assert.deepEqual(Object.fromEntries(counts), { 'gpt-4': 500, 'gpt-4o-mini': 500 });
  });

  const FALL_CASES: Array<{ exclude: string[]; expected: Array<string | undefined> }> = [
    { exclude: ['gpt-4'], expected: ['gpt-4o-mini'] },
    { exclude: ['gpt-4o-mini'], expected: ['gpt-4'] },
    { exclude: ['gpt-4', 'gpt-4o-mini'], expected: ['gpt-3'] },
    { exclude: ['gpt-4', 'gpt-3'], expected: ['gpt-4o-mini'] },
    { exclude: ['gpt-4', 'gpt-4o-mini', 'gpt-3'], expected: [undefined] },
  ];
  for (const c of FALL_CASES) {
    test(`with ${c.exclude.join(' and ')} excluded it picks ${String(c.expected[0])}`, () => {
      const ts = targets({ 'gpt-4': 70, 'gpt-4o-mini': 70, 'gpt-3': 25 });
      const b = new PriorityBalancer(ts, fakeDeps(2));
      const exclude = excludeNames(ts, c.exclude);
      for (let i = 0; i < 10; i++) assert.equal(nameOf(b.pick({ exclude })), c.expected[0]);
    });
  }

  test('falls one group at a time as a request retries, and never reuses a tried target', () => {
    const ts = targets({ low: 1, top1: 300, mid: 50, top2: 300 });
    const b = new PriorityBalancer(ts, fakeDeps(3));
    const tried = new Set<number>();
    const seen: string[] = [];
    for (;;) {
      const t = b.pick({ exclude: tried });
      if (t === undefined) break;
      tried.add(t.index);
      seen.push(nameOf(t)!);
    }
    assert.deepEqual([...seen.slice(0, 2)].sort(), ['top1', 'top2']);
    assert.deepEqual(seen.slice(2), ['mid', 'low']);
  });

  test('members of a group take turns, and an excluded member does not stall the rotation', () => {
    const ts = targets({ a: 10, b: 10, c: 10 });
    const b = new PriorityBalancer(ts, fakeDeps(4));
    const seq = Array.from({ length: 6 }, () => nameOf(b.pick({ exclude: NONE })));
    assert.deepEqual(seq.slice(0, 3).sort(), ['a', 'b', 'c']);
    assert.deepEqual(seq.slice(3), seq.slice(0, 3));
    const exclude = excludeNames(ts, ['b']);
    const counts = tally(100, () => b.pick({ exclude }));
    assert.deepEqual(Object.fromEntries([...counts].sort()), { a: 50, c: 50 });
  });
});
