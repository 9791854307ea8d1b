/**
 * Balancer state shared across gateway nodes and plugin-server restarts through Redis (issue 15), opt-in with
 * AI_PROXY_ADVANCED_CLUSTER_REDIS (index.ts). Kong keeps this per nginx worker; here every node sees the
 * cluster's circuits, Retry-After holds, usage/latency EWMAs and in-flight counts.
 *
 * Local-first: no request waits on Redis. Picks read in-process state (balancer/registry.ts); this module
 * - flushes each state's local deltas every FLUSH_INTERVAL_MS in one pipeline per plugin, whose reply is the
 *   cluster's view, applied to the local state (TargetHealth.applyRemote, EwmaScoreboard.setRemote,
 *   LeastConnectionsBalancer.setRemote, SharedRoundRobin.applyCluster). A plugin with nothing new to send is
 *   skipped (no round trip) and only refreshed every REFRESH_INTERVAL_MS, which also keeps its heartbeat;
 * - writes and publishes a circuit opening or Retry-After hold the moment it happens, so other nodes skip the
 *   target within one pub/sub hop instead of one flush interval;
 * - reads every plugin's holds back at start (bounded by restoreTimeoutMs), so a respawned plugin server or a
 *   restarted node does not forget a Retry-After hold.
 * The client is fail-fast (no offline queue, one retry): during an outage commands fail at once, balancing
 * goes on locally, and the next flush after Redis returns pushes local holds back and re-reads the view.
 * One log line when Redis goes away, one when it is back.
 */
import type { Cluster, Redis } from 'ioredis';
import type { BalancerState } from '../balancer/registry';
import type { BalancerStateObserver } from '../balancer/registry';
import { EwmaBalancer } from '../balancer/ewma-balancer';
import { DECAY_TIME_MS } from '../balancer/ewma';
import { LeastConnectionsBalancer } from '../balancer/least-connections';
import { RoundRobinBalancer } from '../balancer/round-robin';
import { CHANNEL, HOLDS_SCRIPT, holdsKey, nodesKey, pluginKey, PLUGINS_SET, RR_SCRIPT, rrKey } from './keys';
import { SharedRoundRobin, type RrBatch } from './round-robin';

/** A single server, Sentinel (both `Redis`) or Redis Cluster client (index.ts connectCluster). */
export type RedisClient = Redis | Cluster;

export const FLUSH_INTERVAL_MS = 200;
/**
 * A plugin with no local change is refreshed (and its heartbeat renewed) this often instead of every flush:
 * well inside NODE_TTL_MS, so a quiet node's in-flight counts never expire while it lives.
 */
export const REFRESH_INTERVAL_MS = 1_000;
/** A node's in-flight counts and EWMAs count this long after its last flush (a dead node's expire). */
export const NODE_TTL_MS = 3_000;
/** Far longer than any hold (circuit-breaker.ts MAX_RETRY_AFTER_MS, fail_timeout) so an idle plugin's keys outlive its holds. */
export const KEY_TTL_MS = 2 * 3600_000;
/**
 * A round-robin batch unanswered this long is given up (cluster/round-robin.ts), well before Redis forgets its
 * number (KEY_TTL_MS from its first application, which is later, renewed by each resend; keys.ts RR_SCRIPT):
 * a resend Redis no longer recognises would count its picks twice.
 */
export const RR_BATCH_LIFETIME_MS = KEY_TTL_MS / 2;
export const RESTORE_TIMEOUT_MS = 1_500;
/** Longest a plugin's first request waits for the cluster's view of a state built after start. */
export const FIRST_SYNC_TIMEOUT_MS = 250;
/** Bounds on what is read back from Redis: it is shared infrastructure, not trusted input. */
const MAX_PLUGINS_RESTORED = 4096;
const MAX_ENTRY_CHARS = 64 * 1024;
const MAX_EVENT_CHARS = 2048;

export interface ClusterDeps {
  /** Same clock as the balancer states (epoch ms, registry DEFAULT_DEPS.now). */
  now(): number;
  nodeId: string;
  log(message: string): void;
  flushIntervalMs?: number;
  refreshIntervalMs?: number;
  restoreTimeoutMs?: number;
  /** Uniform in [0, 1): the per-node tie rotation of the shared round robin. */
  random?: () => number;
}

/** One plugin's view as Redis holds it: the holds, nodes and round-robin hashes. */
export interface ClusterView {
  holds: Record<string, string>;
  nodes: Record<string, string>;
  rr: Record<string, string>;
}

interface Tracked {
  state: BalancerState;
  pk: string;
  /** Counted failures per target index since the last flush. */
  pendingFails: Map<number, number>;
  index: Map<string, number>;
  rr: SharedRoundRobin | undefined;
  /** The round-robin state's id in Redis (keys.ts RR_SEQ_FIELD): this node's id and a count, unique per state. */
  rrId: string;
  /** The node entry's content (without its time) as last sent: unchanged means nothing new to say. */
  lastEntry: string;
  /** When this plugin is due a refresh even with nothing to send (injected clock). */
  refreshAt: number;
  /** state.picks at the last flush: a plugin serving requests wants a fresh view at every flush. */
  picks: number;
}

type ScriptCommand = (key: string, ...args: (string | number)[]) => unknown;
interface Scripts {
  aipaHolds: ScriptCommand;
  aipaRr: ScriptCommand;
}

function num(v: string | undefined): number {
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n : -Infinity;
}

function parseJson(text: string | undefined, max: number): unknown {
  if (text === undefined || text.length > max) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function own(o: unknown, k: string): unknown {
  return o !== null && typeof o === 'object' && Object.hasOwn(o, k) ? (o as Record<string, unknown>)[k] : undefined;
}

export class ClusterSync implements BalancerStateObserver {
  private readonly tracked = new Map<string, Tracked>();
  private readonly pending = new Map<string, ClusterView>();
  /** States built after start whose first refresh is under way, by pk: their first pick waits (bounded). */
  private readonly firstSync = new Map<string, Promise<void>>();
  private readonly deps: Required<ClusterDeps>;
  private timer: NodeJS.Timeout | undefined;
  private flushing = false;
  private rrStates = 0;
  private up = false;
  private everUp = false;
  private closed = false;
  readonly ready: Promise<void>;
  private markReady!: () => void;
  isReady = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly sub: RedisClient,
    deps: ClusterDeps,
  ) {
    this.deps = { flushIntervalMs: FLUSH_INTERVAL_MS, refreshIntervalMs: REFRESH_INTERVAL_MS, restoreTimeoutMs: RESTORE_TIMEOUT_MS, random: Math.random, ...deps };
    this.ready = new Promise((r) => (this.markReady = r));
    redis.defineCommand('aipaHolds', { numberOfKeys: 1, lua: HOLDS_SCRIPT });
    redis.defineCommand('aipaRr', { numberOfKeys: 1, lua: RR_SCRIPT });
    // ioredis reports every failed reconnect as an 'error' event; the up/down lines below are the log.
    redis.on('error', () => undefined);
    sub.on('error', () => undefined);
    redis.on('ready', () => this.setUp(true));
    redis.on('close', () => this.setUp(false));
    sub.on('message', (channel: string, message: string) => {
      if (channel === CHANNEL) this.onEvent(message);
    });
  }

  /** Connects, subscribes and restores the saved view, resolving `ready` (at the latest after restoreTimeoutMs). */
  start(): Promise<void> {
    const deadline = setTimeout(() => this.finishRestore(), this.deps.restoreTimeoutMs);
    deadline.unref();
    void this.restore()
      .catch(() => undefined)
      .finally(() => {
        clearTimeout(deadline);
        this.finishRestore();
      });
    void this.sub.subscribe(CHANNEL).catch(() => undefined);
    this.timer = setInterval(() => void this.tick(), this.deps.flushIntervalMs);
    this.timer.unref();
    return this.ready;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.redis.disconnect();
    this.sub.disconnect();
  }

  // --- BalancerStateObserver (balancer/registry.ts) ---

  created(state: BalancerState): void {
    const pk = pluginKey(state.key);
    const index = new Map<string, number>();
    state.targets.forEach((t) => index.set(t.id, t.index));
    const algo = state.algorithm;
    let rr: SharedRoundRobin | undefined;
    if (algo instanceof RoundRobinBalancer) {
      rr = new SharedRoundRobin(
        state.targets.map((t) => t.weight),
        this.deps.random,
        RR_BATCH_LIFETIME_MS,
      );
      algo.shared = rr;
    }
    const rrId = `${this.deps.nodeId}:${++this.rrStates}`;
    const tr: Tracked = { state, pk, pendingFails: new Map(), index, rr, rrId, lastEntry: '', refreshAt: -Infinity, picks: state.picks };
    this.tracked.set(pk, tr);
    state.health.listener = {
      failure: (i, counted, openedUntil, retryUntil) => {
        if (counted) tr.pendingFails.set(i, (tr.pendingFails.get(i) ?? 0) + 1);
        if (openedUntil !== undefined || retryUntil !== undefined) this.publishHold(tr, i, openedUntil, retryUntil);
      },
    };
    const saved = this.pending.get(pk);
    if (saved !== undefined) {
      this.pending.delete(pk);
      this.apply(tr, saved);
    }
    if (this.up) {
      void this.redis.sadd(PLUGINS_SET, pk).catch(() => undefined);
      if (saved === undefined && this.isReady) {
        // A plugin configured after start: one refresh before its first pick, at most FIRST_SYNC_TIMEOUT_MS.
        let timer: NodeJS.Timeout | undefined;
        const done = Promise.race([this.flush(tr), new Promise<void>((r) => (timer = setTimeout(r, FIRST_SYNC_TIMEOUT_MS)))]).finally(() => {
          clearTimeout(timer);
          if (this.firstSync.get(pk) === done) this.firstSync.delete(pk);
        });
        this.firstSync.set(pk, done);
      }
    }
  }

  /**
   * What a request for plugin `stateKey` must await before its first pick: the start-up restore while it runs,
   * then the first refresh of a state built since. Undefined (nothing to wait for) on the common path.
   */
  gate(stateKey: string | undefined): Promise<void> | undefined {
    if (!this.isReady) return this.ready;
    if (this.firstSync.size === 0 || stateKey === undefined) return undefined;
    return this.firstSync.get(pluginKey(stateKey));
  }

  retired(state: BalancerState): void {
    const pk = pluginKey(state.key);
    if (this.tracked.get(pk)?.state === state) this.tracked.delete(pk);
    state.health.listener = undefined;
    if (state.algorithm instanceof RoundRobinBalancer) state.algorithm.shared = undefined;
  }

  // --- flush / refresh ---

  /**
   * What the timer runs every flush interval: flushes the plugins in use (picks since the last flush: their
   * picks want a fresh view) or with something to send (counted failures, changed in-flight counts or EWMAs),
   * and refreshes the others only when their refresh is due. An idle plugin costs no Redis command between
   * refreshes; its first request is followed by a flush at the next tick.
   */
  async tick(): Promise<void> {
    if (this.flushing || this.closed || !this.up) return;
    const now = this.deps.now();
    const due = [...this.tracked.values()].filter(
      (tr) => now >= tr.refreshAt || tr.state.picks !== tr.picks || tr.pendingFails.size > 0 || entryBody(this.nodeEntry(tr.state)) !== tr.lastEntry,
    );
    if (due.length > 0) await this.run(due);
  }

  /** One flush and refresh of every tracked state, due or not (tests step with it; a reconnect needs it). */
  async flushAll(): Promise<void> {
    if (this.flushing || this.closed || !this.up) return;
    await this.run([...this.tracked.values()]);
  }

  private async run(trs: Tracked[]): Promise<void> {
    this.flushing = true;
    try {
      await Promise.all(trs.map((tr) => this.flush(tr)));
    } finally {
      this.flushing = false;
    }
  }

  private async flush(tr: Tracked): Promise<void> {
    const { state, pk } = tr;
    const now = Math.round(this.deps.now());
    tr.refreshAt = now + this.deps.refreshIntervalMs;
    tr.picks = state.picks;
    const args: (string | number)[] = [];
    // Deltas leave the queue now: a failed flush drops them (they describe a window that an outage outlasts),
    // while holds are absolute and re-sent by every flush until they end.
    const fails = tr.pendingFails;
    tr.pendingFails = new Map();
    for (const t of state.targets) {
      const d = fails.get(t.index);
      if (d !== undefined) args.push('f', t.id, d);
      const h = state.health.localHolds(t.index);
      if (h.openUntil > now) args.push('o', t.id, Math.ceil(h.openUntil));
      if (h.retryUntil > now) args.push('r', t.id, Math.ceil(h.retryUntil));
    }
    // Every key of one plugin carries the same hash tag ({pk}, keys.ts): one pipeline, one slot, also in Redis Cluster.
    const p = this.redis.pipeline() as ReturnType<RedisClient['pipeline']> & Scripts;
    p.aipaHolds(holdsKey(pk), now, Math.max(1, state.health.failTimeoutMs), KEY_TTL_MS, ...args);
    const entry = this.nodeEntry(state);
    p.hset(nodesKey(pk), this.deps.nodeId, JSON.stringify({ t: now, ...entry }));
    p.pexpire(nodesKey(pk), KEY_TTL_MS);
    p.hgetall(nodesKey(pk));
    const batch = tr.rr?.batch(now);
    if (tr.rr !== undefined) {
      const rrArgs: (string | number)[] = [];
      if (batch !== undefined) state.targets.forEach((t) => batch.delta[t.index] !== 0 && rrArgs.push(t.id, batch.delta[t.index]!));
      p.aipaRr(rrKey(pk), tr.rr.bound, KEY_TTL_MS, batch?.seq ?? 0, tr.rrId, ...rrArgs);
    }
    let res: [Error | null, unknown][] | null;
    try {
      res = await p.exec();
    } catch {
      return;
    }
    if (res === null) return;
    // The round-robin reply stands alone: RR_SCRIPT applied the batch (now or before), so it is acknowledged
    // whatever the other commands answered; without a reply the batch is sent again, and counted once.
    const rrReply = res[4];
    if (tr.rr !== undefined && rrReply !== undefined && rrReply[0] === null) this.applyRr(tr, pairs(rrReply[1]), batch);
    if (res.some(([e]) => e !== null)) return;
    tr.lastEntry = entryBody(entry);
    const holds = pairs(res[0]![1]);
    const nodes = (res[3]![1] ?? {}) as Record<string, string>;
    const stale = this.apply(tr, { holds, nodes });
    if (stale.length > 0) void this.redis.hdel(nodesKey(pk), ...stale).catch(() => undefined);
  }

  private nodeEntry(state: BalancerState): { c: Record<string, number>; e: Record<string, [number, number]> } {
    const c: Record<string, number> = {};
    const e: Record<string, [number, number]> = {};
    const algo = state.algorithm;
    for (const t of state.targets) {
      if (algo instanceof LeastConnectionsBalancer) {
        const n = algo.connections(t.index);
        if (n > 0) c[t.id] = n;
      } else if (algo instanceof EwmaBalancer) {
        const s = algo.scores.localSample(t.index);
        if (s !== undefined) e[t.id] = [s.ewma, Math.round(s.touchedAt)];
      }
    }
    return { c, e };
  }

  /** A round-robin vector from Redis (`acked`: the batch it includes) applied to one state. */
  private applyRr(tr: Tracked, rr: Record<string, string>, acked?: RrBatch): void {
    tr.rr?.applyCluster(
      tr.state.targets.map((t) => num(rr[t.id])),
      acked,
    );
  }

  /**
   * Applies a cluster view to one state (its round-robin vector when the view has one: a flush applies its own
   * reply's first). Returns the node fields that are stale (to delete).
   */
  private apply(tr: Tracked, view: Omit<ClusterView, 'rr'> & { rr?: ClusterView['rr'] }): string[] {
    const { state } = tr;
    if (view.rr !== undefined) this.applyRr(tr, view.rr);
    const now = this.deps.now();
    const health = state.health;
    for (const t of state.targets) {
      let open = num(view.holds[`o:${t.id}`]);
      const f = /^(\d+):(\d+)$/.exec(view.holds[`f:${t.id}`] ?? '');
      if (f !== null && health.maxFails > 0 && Number(f[1]) >= health.maxFails) {
        open = Math.max(open, Number(f[2]) + health.failTimeoutMs);
      }
      const retry = num(view.holds[`r:${t.id}`]);
      health.applyRemote(t.index, open > now ? open : -Infinity, retry > now ? retry : -Infinity, true);
    }
    const stale: string[] = [];
    const n = state.targets.length;
    const conns = new Float64Array(n);
    const ewSum = new Float64Array(n);
    const ewAt = new Float64Array(n).fill(-Infinity);
    const ewNodes = new Float64Array(n);
    const samples: Array<[number, number, number]> = [];
    for (const [node, text] of Object.entries(view.nodes)) {
      if (node === this.deps.nodeId) continue;
      const entry = parseJson(text, MAX_ENTRY_CHARS);
      const at = own(entry, 't');
      if (typeof at !== 'number' || now - at > NODE_TTL_MS) {
        stale.push(node);
        continue;
      }
      const c = own(entry, 'c');
      const e = own(entry, 'e');
      for (const t of state.targets) {
        const k = own(c, t.id);
        if (typeof k === 'number' && k > 0) conns[t.index]! += k;
        const s = own(e, t.id);
        if (Array.isArray(s) && typeof s[0] === 'number' && typeof s[1] === 'number' && s[0] >= 0 && Number.isFinite(s[0])) {
          samples.push([t.index, s[0], s[1]]);
          if (s[1] > ewAt[t.index]!) ewAt[t.index] = s[1];
        }
      }
    }
    // Each node's EWMA decayed to the latest sample time of that target, then averaged.
    for (const [i, v, at] of samples) {
      ewSum[i]! += v * Math.exp(-(ewAt[i]! - at) / DECAY_TIME_MS);
      ewNodes[i]!++;
    }
    const algo = state.algorithm;
    for (let i = 0; i < n; i++) {
      if (algo instanceof LeastConnectionsBalancer) algo.setRemote(i, conns[i]!);
      else if (algo instanceof EwmaBalancer) {
        const k = ewNodes[i]!;
        algo.scores.setRemote(i, k > 0 ? ewSum[i]! / k : 0, k > 0 ? ewAt[i]! : now, k);
      }
    }
    return stale;
  }

  // --- circuit openings, at once ---

  private publishHold(tr: Tracked, index: number, openUntil: number | undefined, retryUntil: number | undefined): void {
    if (!this.up) return;
    const t = tr.state.targets[index];
    if (t === undefined) return;
    const now = Math.round(this.deps.now());
    const args: (string | number)[] = [];
    if (openUntil !== undefined) args.push('o', t.id, Math.ceil(openUntil));
    if (retryUntil !== undefined) args.push('r', t.id, Math.ceil(retryUntil));
    const p = this.redis.pipeline() as ReturnType<RedisClient['pipeline']> & Scripts;
    p.aipaHolds(holdsKey(tr.pk), now, Math.max(1, tr.state.health.failTimeoutMs), KEY_TTL_MS, ...args);
    p.publish(CHANNEL, JSON.stringify({ n: this.deps.nodeId, k: tr.pk, t: t.id, o: openUntil ?? null, r: retryUntil ?? null }));
    void p.exec().catch(() => undefined);
  }

  private onEvent(message: string): void {
    const ev = parseJson(message, MAX_EVENT_CHARS);
    if (own(ev, 'n') === this.deps.nodeId) return;
    const k = own(ev, 'k');
    const tid = own(ev, 't');
    if (typeof k !== 'string' || typeof tid !== 'string') return;
    const tr = this.tracked.get(k);
    const i = tr?.index.get(tid);
    if (tr === undefined || i === undefined) return;
    const o = own(ev, 'o');
    const r = own(ev, 'r');
    tr.state.health.applyRemote(i, typeof o === 'number' ? o : -Infinity, typeof r === 'number' ? r : -Infinity, false);
  }

  // --- restore and connection state ---

  private async restore(): Promise<void> {
    if (this.redis.status === 'wait') await this.redis.connect();
    const members = (await this.redis.smembers(PLUGINS_SET)).slice(0, MAX_PLUGINS_RESTORED);
    // One pipeline per plugin: its keys share a slot, different plugins' keys need not (Redis Cluster).
    await Promise.all(
      members.map(async (pk) => {
        const res = await this.redis.pipeline().hgetall(holdsKey(pk)).hgetall(nodesKey(pk)).hgetall(rrKey(pk)).exec();
        if (res === null || res.some(([e]) => e !== null)) return;
        const [holds, nodes, rr] = res.map(([, v]) => (v ?? {}) as Record<string, string>) as [Record<string, string>, Record<string, string>, Record<string, string>];
        const view = { holds, nodes, rr };
        const tr = this.tracked.get(pk);
        if (tr !== undefined) this.apply(tr, view);
        else this.pending.set(pk, view);
      }),
    );
  }

  private finishRestore(): void {
    if (this.isReady) return;
    this.isReady = true;
    this.markReady();
  }

  private setUp(up: boolean): void {
    if (up === this.up || this.closed) return;
    this.up = up;
    if (up) {
      this.deps.log(this.everUp ? 'cluster redis reachable again: re-syncing balancer state' : 'cluster redis connected: sharing balancer state');
      this.everUp = true;
      // Failures counted during the outage describe a window that has likely passed; holds are re-sent.
      // Holds are re-sent at the next tick: every plugin is due.
      for (const tr of this.tracked.values()) {
        tr.pendingFails = new Map();
        tr.refreshAt = -Infinity;
      }
      for (const tr of this.tracked.values()) void this.redis.sadd(PLUGINS_SET, tr.pk).catch(() => undefined);
    } else if (this.everUp) {
      this.deps.log('cluster redis unreachable: balancing on local state until it returns');
    }
  }
}

/** A node entry's content without its time: what tick() compares to decide whether there is news to send. */
function entryBody(entry: { c: Record<string, number>; e: Record<string, [number, number]> }): string {
  return JSON.stringify(entry);
}

/** HGETALL as a Lua script returns it: a flat [field, value, ...] array. */
function pairs(v: unknown): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  if (!Array.isArray(v)) return out;
  for (let i = 0; i + 1 < v.length; i += 2) out[String(v[i])] = String(v[i + 1]);
  return out;
}
