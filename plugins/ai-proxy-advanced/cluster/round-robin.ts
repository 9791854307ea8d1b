/**
 * `balancer.algorithm: round-robin` with the cluster on: weights hold cluster-wide, not only per node.
 *
 * Kong's wheel (balancer/round-robin.ts) is per worker: every worker keeps its own shuffled wheel and pointer, so
 * the split over the whole cluster is right only on average, and a burst spread over many workers/nodes can land
 * on one target. Here every node runs nginx's smooth weighted round robin (ngx_http_upstream_get_peer in
 * nginx's ngx_http_upstream_round_robin.c: each available peer's current weight grows by its weight, the largest
 * is picked and lowered by the sum of the weights that grew) over ONE vector of current weights shared through
 * Redis:
 *
 * - a pick reads `base` (the cluster's vector at the last refresh) + `delta` (this node's picks since): no
 *   request waits on Redis;
 * - each flush adds `delta` to the cluster's vector (RR_SCRIPT, HINCRBY) and the reply becomes the new `base`,
 *   so a target another node just served is owed less here, and one it skipped is owed more. A delta travels as
 *   a numbered batch that Redis applies once (a batch sent again, after a lost or timed-out reply or beside
 *   another command that failed, is only acknowledged), and it leaves the local delta only when a reply says so:
 *   a flush that half failed neither drops nor double-counts picks. A batch unanswered for `batchLifetimeMs` is
 *   given up (never sent again) before Redis forgets its number;
 * - a smooth-WRR step changes the vector by a zero sum, so the shared vector stays centred whatever the number
 *   of nodes; excluded targets (tried, circuit open, Retry-After) do not grow, as in nginx, so a target is not
 *   owed a burst for the time it was out.
 * Between two refreshes nodes pick from the same view, so the cluster's split can be off by about one pick per
 * node and target, and the next refresh corrects it. Ties go to a per-node rotation of the targets so nodes
 * that see the same vector do not all start on the same target.
 */

/** A node's change to the shared vector, numbered per SharedRoundRobin so that Redis applies it once (RR_SCRIPT). */
export interface RrBatch {
  readonly seq: number;
  readonly delta: Float64Array;
  /** When it was first sent (the injected clock): it is sent again until a reply says so, or until its lifetime. */
  readonly createdAt: number;
}

/** What balancer/round-robin.ts asks of a shared picker. */
export interface SharedPicker {
  /** The target index to serve, or -1 when every target is excluded. */
  pick(exclude: ReadonlySet<number>): number;
}

export class SharedRoundRobin implements SharedPicker {
  private readonly weights: Float64Array;
  private readonly base: Float64Array;
  private readonly delta: Float64Array;
  private readonly offset: number;
  private seq = 0;
  private inFlight: RrBatch | undefined;
  /** The farthest the shared vector may drift from 0 per target: 16 turns of the total weight. */
  readonly bound: number;

  /**
   * `batchLifetimeMs`: how long a batch is sent again without a reply before it is given up; shorter than Redis
   * remembers a batch number (sync.ts RR_BATCH_LIFETIME_MS), so a batch is never applied twice.
   */
  constructor(
    weights: readonly number[],
    random: () => number,
    private readonly batchLifetimeMs = Infinity,
  ) {
    const n = weights.length;
    this.weights = Float64Array.from(weights);
    this.base = new Float64Array(n);
    this.delta = new Float64Array(n);
    this.offset = n > 0 ? Math.floor(random() * n) % n : 0;
    this.bound = 16 * weights.reduce((a, b) => a + b, 0);
  }

  pick(exclude: ReadonlySet<number>): number {
    const n = this.weights.length;
    let best = -1;
    let bestScore = -Infinity;
    let total = 0;
    for (let k = 0; k < n; k++) {
      let i = this.offset + k;
      if (i >= n) i -= n;
      if (exclude.size > 0 && exclude.has(i)) continue;
      const w = this.weights[i]!;
      this.delta[i]! += w;
      total += w;
      const score = this.base[i]! + this.delta[i]!;
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    if (best >= 0) this.delta[best]! -= total;
    return best;
  }

  /**
   * What the next flush sends: the batch still unacknowledged, again and unchanged (its number tells Redis
   * whether it was applied already) unless it has outlived `batchLifetimeMs`, else this node's change since the
   * last acknowledged or given-up batch, as a new batch (a copy: picks go on while it travels); undefined when
   * there is nothing to send. `now`: the injected clock.
   */
  batch(now: number): RrBatch | undefined {
    const sent = this.inFlight;
    if (sent !== undefined) {
      if (now - sent.createdAt < this.batchLifetimeMs) return sent;
      // Unanswered for its lifetime (a long outage, or every reply lost): given up, as Redis will soon forget
      // its number and would apply it again. Its picks leave the local delta as an acknowledged batch's do:
      // counted once if Redis applied it, lost if not; never twice.
      for (let i = 0; i < this.delta.length; i++) this.delta[i]! -= sent.delta[i]!;
      this.inFlight = undefined;
    }
    if (!this.delta.some((d) => d !== 0)) return undefined;
    this.inFlight = { seq: ++this.seq, delta: this.delta.slice(), createdAt: now };
    return this.inFlight;
  }

  /**
   * The cluster's vector from a reply: becomes the base. `acked`: the batch that reply includes, which then leaves
   * the local delta (picks made while it travelled stay), once however many replies say so. `cluster[i]` is NaN
   * for a target Redis does not know yet.
   */
  applyCluster(cluster: readonly number[], acked?: RrBatch): void {
    // A view that does not say whether it includes the batch in flight (read by the start-up restore, not a
    // flush's reply) may already count it: Redis applied it and its reply was lost. As the base it would count
    // the batch twice, there and in the local delta, until the batch is acknowledged; that reply, which says, is
    // the next base instead.
    if (acked === undefined && this.inFlight !== undefined) return;
    const subtract = acked !== undefined && acked === this.inFlight;
    if (subtract) this.inFlight = undefined;
    for (let i = 0; i < this.base.length; i++) {
      if (subtract) this.delta[i]! -= acked.delta[i]!;
      const v = cluster[i]!;
      this.base[i] = Number.isFinite(v) ? Math.max(-this.bound, Math.min(this.bound, v)) : 0;
    }
  }
}
