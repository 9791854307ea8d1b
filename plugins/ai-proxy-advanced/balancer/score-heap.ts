/**
 * An indexed binary min-heap of targets by score, shared by least-connections and the EWMA balancers (Kong
 * keeps its least-connections targets in a binary heap too: kong/runloop/balancer/least_connections.lua).
 *
 * - Ties are broken by recency: of equal scores, the target picked least recently comes first, so equal
 *   targets take turns (`touch` after each pick) instead of the first in config order taking every burst.
 * - `min(exclude)` finds the best target not excluded by walking down from the root and stopping at the
 *   first non-excluded node of each branch (its subtree cannot beat it): O(1) with no exclusions, and a
 *   few nodes more per excluded target.
 * Equal rational scores computed by IEEE division are equal doubles, so (in_flight+1)/weight ties are exact.
 */
export class ScoreHeap {
  private readonly key: Float64Array;
  /** Pick sequence per target (lower = picked longer ago). */
  private readonly seq: Float64Array;
  private readonly heap: Int32Array;
  private readonly pos: Int32Array;
  private readonly stack: Int32Array;
  private counter = 0;

  /** Targets 0..n−1, all with score `initial`, ties ordered by index. */
  constructor(n: number, initial = 0) {
    this.key = new Float64Array(n).fill(initial);
    this.seq = new Float64Array(n);
    this.heap = new Int32Array(n);
    this.pos = new Int32Array(n);
    this.stack = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      this.seq[i] = i - n;
      this.heap[i] = i;
      this.pos[i] = i;
    }
  }

  get size(): number {
    return this.heap.length;
  }

  score(i: number): number {
    return this.key[i]!;
  }

  /** Set target `i`'s score and restore heap order. */
  update(i: number, score: number): void {
    const old = this.key[i]!;
    this.key[i] = score;
    if (score < old) this.up(this.pos[i]!);
    else if (score > old) this.down(this.pos[i]!);
  }

  /** Mark target `i` as just picked: it goes behind targets of equal score. */
  touch(i: number): void {
    this.seq[i] = ++this.counter;
    this.down(this.pos[i]!);
  }

  /** `touch(i)` and raise its score to `score` (>= the current one) in one sift. */
  touchAndRaise(i: number, score: number): void {
    this.key[i] = score;
    this.touch(i);
  }

  /** The best target not in `exclude`, or −1. */
  min(exclude: ReadonlySet<number>): number {
    const heap = this.heap;
    const n = heap.length;
    if (n === 0) return -1;
    if (exclude.size === 0) return heap[0]!;
    const stack = this.stack;
    let sp = 0;
    stack[sp++] = 0;
    let best = -1;
    while (sp > 0) {
      const p = stack[--sp]!;
      const i = heap[p]!;
      if (!exclude.has(i)) {
        if (best === -1 || this.less(i, best)) best = i;
        continue;
      }
      const c = 2 * p + 1;
      if (c < n) stack[sp++] = c;
      if (c + 1 < n) stack[sp++] = c + 1;
    }
    return best;
  }

  private less(a: number, b: number): boolean {
    const ka = this.key[a]!;
    const kb = this.key[b]!;
    return ka < kb || (ka === kb && this.seq[a]! < this.seq[b]!);
  }

  private up(p: number): void {
    const heap = this.heap;
    const i = heap[p]!;
    while (p > 0) {
      const parent = (p - 1) >> 1;
      const j = heap[parent]!;
      if (!this.less(i, j)) break;
      heap[p] = j;
      this.pos[j] = p;
      p = parent;
    }
    heap[p] = i;
    this.pos[i] = p;
  }

  private down(p: number): void {
    const heap = this.heap;
    const n = heap.length;
    const i = heap[p]!;
    for (;;) {
      let c = 2 * p + 1;
      if (c >= n) break;
      if (c + 1 < n && this.less(heap[c + 1]!, heap[c]!)) c++;
      const j = heap[c]!;
      if (!this.less(j, i)) break;
      heap[p] = j;
      this.pos[j] = p;
      p = c;
    }
    heap[p] = i;
    this.pos[i] = p;
  }
}
