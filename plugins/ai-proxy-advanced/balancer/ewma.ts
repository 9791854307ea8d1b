/**
 * The decaying-EWMA scoreboard shared by lowest-latency and lowest-usage, after Kong's
 * kong/runloop/balancer/latency.lua (itself after Finagle's PeakEwma,
 * finagle-core/.../loadbalancer/PeakEwma.scala):
 *
 *   on a data point x:  ewma ← ewma·w + x·(1−w),  w = exp(−Δt/τ), τ = 10 s, Δt = time since last data point
 *   when scoring:       score = ewma·exp(−Δt/τ) / weight   (decayed towards 0, so idle targets get re-probed)
 *
 * Kong's variant drops Finagle's "peak" step (jump straight to a higher sample); so do we: LLM latencies vary
 * with output length, and one long completion would otherwise repel traffic for tens of seconds.
 *
 * Cheap picks: ln(score) = [ln(ewma) − ln(weight) + t_last/τ] − now/τ. The bracket only changes on a data
 * point and the last term is common to all targets, so ranking by the bracket ("key") ranks by decayed
 * score exactly, with no exp() per target per pick, and lets targets sit in a heap ordered by key
 * (score-heap.ts): a pick is O(1) and a data point O(log n). A target with ewma 0 has key −∞ and wins.
 *
 * Deliberate differences from Kong:
 * - A freshly built scoreboard takes each target's first data point as is. Kong blends it against 0 with the
 *   build time as "last touched", so for the first ~10 s a slow target looks almost as fast as a fast one.
 * - A failed attempt is recorded as twice the worst other target (or its own latency if worse), so a target
 *   that fails fast (connection refused in 1 ms) is not mistaken for the fastest one.
 * New targets added by a config change start at the mean of the carried-over targets (Kong's slow start).
 */
import type { BalancerTarget } from './balancer';
import { ScoreHeap } from './score-heap';

export const DECAY_TIME_MS = 10_000;

/** What survives a rebuild for one target id (see registry.ts). */
export interface EwmaSnapshotEntry {
  readonly ewma: number;
  /** Absolute time (deps.now()) of the last data point. */
  readonly touchedAt: number;
  readonly sampled: boolean;
}
export type EwmaSnapshot = ReadonlyMap<string, EwmaSnapshotEntry>;

export class EwmaScoreboard {
  private readonly targets: readonly BalancerTarget[];
  private readonly origin: number;
  private readonly ewma: Float64Array;
  /** Time of the last data point, ms since `origin`. */
  private readonly touched: Float64Array;
  private readonly lnWeight: Float64Array;
  /** Targets by key (see the module comment); equal keys take turns (score-heap.ts). */
  private readonly heap: ScoreHeap;
  private readonly sampled: Uint8Array;
  /**
   * Other nodes' view (cluster/sync.ts): the mean of their EWMAs, its time (ms since `origin`) and how many
   * nodes it stands for. Scores blend it with the local value, node by node; absent (0 nodes) nothing changes.
   */
  private readonly remoteEwma: Float64Array;
  private readonly remoteTouched: Float64Array;
  private readonly remoteNodes: Float64Array;

  constructor(targets: readonly BalancerTarget[], now: number, previous?: EwmaSnapshot) {
    const n = targets.length;
    this.targets = targets;
    this.origin = now;
    this.ewma = new Float64Array(n);
    this.touched = new Float64Array(n);
    this.lnWeight = new Float64Array(n);
    this.heap = new ScoreHeap(n, -Infinity);
    this.sampled = new Uint8Array(n);
    this.remoteEwma = new Float64Array(n);
    this.remoteTouched = new Float64Array(n);
    this.remoteNodes = new Float64Array(n);
    let sum = 0;
    let carried = 0;
    for (let i = 0; i < n; i++) {
      this.lnWeight[i] = Math.log(targets[i]!.weight);
      const prev = previous?.get(targets[i]!.id);
      if (prev !== undefined && prev.sampled) {
        this.ewma[i] = prev.ewma;
        this.touched[i] = prev.touchedAt - now;
        this.sampled[i] = 1;
        sum += prev.ewma;
        carried++;
      }
    }
    const mean = carried > 0 ? sum / carried : 0;
    for (let i = 0; i < n; i++) {
      if (this.sampled[i] === 0 && carried > 0) {
        this.ewma[i] = mean;
        this.sampled[i] = 1; // blended from here on: a newcomer does not take the whole load on one lucky sample
      }
      this.rekey(i);
    }
  }

  /** Record one data point (ms latency, tokens or cost) for target `index`. Non-finite or negative: ignored. */
  record(index: number, x: number, now: number): void {
    if (!(x >= 0) || x === Infinity || index < 0 || index >= this.ewma.length) return;
    const t = now - this.origin;
    if (this.sampled[index] === 0) {
      this.ewma[index] = x;
      this.sampled[index] = 1;
    } else {
      const dt = t - this.touched[index]!;
      const w = Math.exp(-(dt > 0 ? dt : 0) / DECAY_TIME_MS);
      this.ewma[index] = this.ewma[index]! * w + x * (1 - w);
    }
    this.touched[index] = t;
    this.rekey(index);
  }

  /**
   * Record a failed attempt: twice the worst other target's EWMA (or `observed` when worse), taken whole,
   * so the target ranks last until that decays (about 7 s) and it is probed again. Relative to the others,
   * not to itself, so repeated failures do not escalate into a target that is never probed again.
   */
  recordFailure(index: number, now: number, observed?: number): void {
    let worst = observed !== undefined && observed > 0 && observed !== Infinity ? observed : 0;
    for (let i = 0; i < this.ewma.length; i++) {
      if (i !== index && 2 * this.ewma[i]! > worst) worst = 2 * this.ewma[i]!;
    }
    if (worst === 0) worst = 1;
    this.record(index, worst, now);
    if (this.ewma[index]! < worst) {
      // A blended failure would barely move a target that has been quiet; a failure is news, take it whole.
      this.ewma[index] = worst;
      this.rekey(index);
    }
  }

  /** Index of the lowest decayed score among targets not in `exclude`, or −1. Counts as a pick for ties. */
  pickMin(exclude: ReadonlySet<number>): number {
    const best = this.heap.min(exclude);
    if (best !== -1) this.heap.touch(best);
    return best;
  }

  /** Decayed score (ewma·exp(−Δt/τ)/weight) of target `index` at `now`, other nodes' samples blended in. */
  score(index: number, now: number): number {
    const [e, t] = this.blended(index);
    const dt = now - this.origin - t;
    return (e * Math.exp(-(dt > 0 ? dt : 0) / DECAY_TIME_MS)) / this.targets[index]!.weight;
  }

  /**
   * Other nodes' EWMA for target `index`: the mean of `nodes` nodes' values at absolute time `touchedAt`
   * (cluster/sync.ts). `nodes` 0 drops the remote part.
   */
  setRemote(index: number, ewma: number, touchedAt: number, nodes: number): void {
    if (index < 0 || index >= this.ewma.length || !(ewma >= 0) || !Number.isFinite(ewma) || !Number.isFinite(touchedAt)) return;
    this.remoteEwma[index] = ewma;
    this.remoteTouched[index] = touchedAt - this.origin;
    this.remoteNodes[index] = nodes > 0 ? nodes : 0;
    this.rekey(index);
  }

  /** This node's own sampled EWMA and its absolute time, for target `index` (undefined until sampled). */
  localSample(index: number): { ewma: number; touchedAt: number } | undefined {
    if (this.sampled[index] !== 1) return undefined;
    return { ewma: this.ewma[index]!, touchedAt: this.origin + this.touched[index]! };
  }

  /** (ewma, time since origin) with the remote mean blended in, both decayed to the later of the two times. */
  private blended(i: number): [number, number] {
    const n = this.remoteNodes[i]!;
    if (n === 0) return [this.ewma[i]!, this.touched[i]!];
    if (this.sampled[i] === 0) return [this.remoteEwma[i]!, this.remoteTouched[i]!];
    const tl = this.touched[i]!;
    const tr = this.remoteTouched[i]!;
    const t = tl > tr ? tl : tr;
    const local = this.ewma[i]! * Math.exp(-(t - tl) / DECAY_TIME_MS);
    const remote = this.remoteEwma[i]! * Math.exp(-(t - tr) / DECAY_TIME_MS);
    return [(local + n * remote) / (1 + n), t];
  }

  /** Undecayed EWMA of target `index`. */
  value(index: number): number {
    return this.ewma[index]!;
  }

  snapshot(): EwmaSnapshot {
    const out = new Map<string, EwmaSnapshotEntry>();
    this.targets.forEach((t, i) => {
      out.set(t.id, { ewma: this.ewma[i]!, touchedAt: this.origin + this.touched[i]!, sampled: this.sampled[i] === 1 });
    });
    return out;
  }

  private rekey(i: number): void {
    const [e, t] = this.blended(i);
    this.heap.update(i, Math.log(e) - this.lnWeight[i]! + t / DECAY_TIME_MS);
  }
}
