import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScoreHeap } from '../../plugins/ai-proxy-advanced/balancer/score-heap';
import { seededRandom } from '../helpers/balancer-random';

/** The answer `min` must give, by brute force: lowest score, then least recently touched. */
function bruteMin(scores: number[], seq: number[], exclude: ReadonlySet<number>): number {
  let best = -1;
  for (let i = 0; i < scores.length; i++) {
    if (exclude.has(i)) continue;
    if (best === -1 || scores[i]! < scores[best]! || (scores[i] === scores[best] && seq[i]! < seq[best]!)) best = i;
  }
  return best;
}

test('the heap agrees with a brute-force scan under random updates, touches and exclusions', () => {
  const random = seededRandom(2024);
  for (const n of [1, 2, 3, 7, 16, 100]) {
    const heap = new ScoreHeap(n);
    const scores = Array<number>(n).fill(0);
    const seq = Array.from({ length: n }, (_, i) => i - n);
    let counter = 0;
    for (let step = 0; step < 3000; step++) {
      const i = Math.floor(random() * n);
      const r = random();
      if (r < 0.4) {
        // Few distinct values, so ties are common.
        const s = Math.floor(random() * 5) / 4;
        heap.update(i, s);
        scores[i] = s;
      } else if (r < 0.6) {
        heap.touch(i);
        seq[i] = ++counter;
      }
      const exclude = new Set<number>();
      const k = Math.floor(random() * (n + 1));
      for (let e = 0; e < k; e++) exclude.add(Math.floor(random() * n));
      assert.equal(heap.min(exclude), bruteMin(scores, seq, exclude), `n=${n} step=${step}`);
    }
  }
});

test('an empty heap and a fully excluded heap have no minimum', () => {
  assert.equal(new ScoreHeap(0).min(new Set()), -1);
  assert.equal(new ScoreHeap(2).min(new Set([0, 1])), -1);
});
