/**
 * Balancer state at module scope, keyed by the plugin id (design.md "State"). Kong starts one plugin
 * instance per worker and per config change, with no close hook, so state on the instance would reset on
 * every unrelated config change (the "all previous balancing state is reset" warning of EE 3.9, spec §2.1).
 *
 * `balancerStateFor(config)`:
 * - same config object as before → the same state (WeakMap lookup, no hashing on the request path);
 * - same plugin id, same fingerprint (target ids and weights, and the balancer fields that shape state) →
 *   the same state, with its targets refreshed to the new config objects (a rotated key is used at once and
 *   learned latencies, wheel position, in-flight counts and open circuits are kept);
 * - otherwise a new state. Circuit-breaker and Retry-After state carry over by target id; EWMA scores carry
 *   over by target id when the algorithm and strategy are unchanged (new targets start at the mean).
 * Configs without `__plugin_id` (hand-made configs in tests and tools) share state by fingerprint.
 */
import type { FilledBalancerConfig, FilledConfig } from '../../../schemas/config';
import type { Balancer, BalancerDeps, BalancerTarget, Outcome, PickRequest } from './balancer';
import { type AttemptFailure, TargetHealth } from './circuit-breaker';
import { createBalancer } from './create-balancer';
import type { EwmaSnapshot } from './ewma';
import { buildTargets, canonicalJson } from './targets';

/** Wall-clock ms with monotonic steps (timeOrigin + performance.now()), and Math.random. */
export const DEFAULT_DEPS: BalancerDeps = {
  now: () => performance.timeOrigin + performance.now(),
  random: Math.random,
};

/** Plugins deleted from Kong leave their state behind; past this many, the oldest states are dropped. */
export const MAX_STATES = 4096;

interface EwmaCapable {
  snapshot(): EwmaSnapshot;
}

function hasEwma(b: Balancer): b is Balancer & EwmaCapable {
  return typeof (b as Partial<EwmaCapable>).snapshot === 'function';
}

/** The balancer fields that shape balancing state, defaults filled in. */
function stateShapingFields(b: FilledBalancerConfig) {
  return {
    algorithm: b.algorithm,
    tokens_count_strategy: b.tokens_count_strategy,
    latency_strategy: b.latency_strategy,
    slots: b.slots,
    max_fails: b.max_fails,
    fail_timeout: b.fail_timeout,
    failover_criteria: [...b.failover_criteria].sort(),
  };
}

/** What an EWMA score means: only carried over when this is unchanged. */
function ewmaKind(b: FilledBalancerConfig): string {
  const f = stateShapingFields(b);
  return `${f.algorithm}:${f.algorithm === 'lowest-usage' ? f.tokens_count_strategy : f.latency_strategy}`;
}

export function fingerprintOf(config: FilledConfig, targets: readonly BalancerTarget[]): string {
  return canonicalJson({
    targets: targets.map((t) => [t.id, t.weight]),
    balancer: stateShapingFields(config.balancer),
  });
}

/**
 * One plugin's balancing state: the balancer, its targets and their health. Implements Balancer, handing
 * out the current config's target objects.
 */
export class BalancerState implements Balancer {
  readonly key: string;
  readonly fingerprint: string;
  readonly balancerConfig: FilledBalancerConfig;
  readonly health: TargetHealth;
  private readonly balancer: Balancer;
  private readonly builtTargets: readonly BalancerTarget[];
  private current: readonly BalancerTarget[];
  /** Set when the state was dropped from the registry (forgetBalancerState, clearBalancerRegistry). */
  retired = false;
  /** Picks made so far: the cluster sync (cluster/sync.ts) refreshes a plugin in use at every flush, an idle one less often. */
  picks = 0;

  constructor(key: string, fingerprint: string, config: FilledConfig, targets: readonly BalancerTarget[], deps: BalancerDeps, previous?: BalancerState) {
    this.key = key;
    this.fingerprint = fingerprint;
    this.balancerConfig = config.balancer;
    const carryEwma = previous !== undefined && ewmaKind(previous.balancerConfig) === ewmaKind(this.balancerConfig);
    this.balancer = createBalancer(this.balancerConfig, targets, deps, {
      ewma: carryEwma ? previous.ewmaSnapshot() : undefined,
    });
    this.health = new TargetHealth(this.balancerConfig, targets, deps.now, previous?.health.snapshot());
    this.builtTargets = targets;
    this.current = targets;
  }

  /** Targets of the latest config with this fingerprint, in config order. */
  get targets(): readonly BalancerTarget[] {
    return this.current;
  }

  pick(req: PickRequest): BalancerTarget | undefined {
    this.picks++;
    const t = this.balancer.pick(req);
    return t === undefined ? undefined : this.current[t.index];
  }

  report(target: BalancerTarget, outcome: Outcome): void {
    const built = this.builtTargets[target.index];
    if (built !== undefined) this.balancer.report(built, outcome);
  }

  /**
   * Everything the engine learns from one attempt: balancer feedback (exactly once per pick) and target
   * health (`failure` describes a failed attempt; without it a failure only feeds the balancer).
   */
  settle(target: BalancerTarget, outcome: Outcome, failure?: AttemptFailure): void {
    this.report(target, outcome);
    if (outcome.ok) this.health.recordSuccess(target.index);
    else if (failure !== undefined) this.health.recordFailure(target.index, failure);
  }

  /** Targets a pick must skip: circuit-open or Retry-After ∪ `tried`. */
  exclusions(tried: ReadonlySet<number>): ReadonlySet<number> {
    return this.health.exclusions(tried);
  }

  /** The underlying algorithm (tests and diagnostics). */
  get algorithm(): Balancer {
    return this.balancer;
  }

  /** @internal used by the registry when the same fingerprint arrives in a new config object. */
  refresh(targets: readonly BalancerTarget[]): void {
    this.current = targets;
  }

  private ewmaSnapshot(): EwmaSnapshot | undefined {
    return hasEwma(this.balancer) ? this.balancer.snapshot() : undefined;
  }
}

const states = new Map<string, BalancerState>();
const byConfig = new WeakMap<object, BalancerState>();

/** Told of every state built and dropped: the cluster sync (cluster/) shares them across nodes. */
export interface BalancerStateObserver {
  created(state: BalancerState): void;
  retired(state: BalancerState): void;
}
let observer: BalancerStateObserver | undefined;

/** Set (or clear) the one observer; it hears of the states that already exist at once. */
export function observeBalancerStates(o: BalancerStateObserver | undefined): void {
  observer = o;
  if (o !== undefined) for (const s of states.values()) o.created(s);
}

/**
 * The balancing state for this plugin config (see the module comment). Throws what createBalancer throws
 * (UnsupportedFeatureError for `semantic` / `llm-accuracy`, ConfigError); the engine turns that into a
 * request-time error.
 */
export function balancerStateFor(config: FilledConfig, deps: BalancerDeps = DEFAULT_DEPS): BalancerState {
  const cached = byConfig.get(config);
  // A forgotten state must not be served from the config-object cache. A replaced one still is: an
  // instance of the previous config finishing its requests keeps its own state instead of thrashing.
  if (cached !== undefined && !cached.retired) return cached;
  const targets = buildTargets(config.targets);
  const fingerprint = fingerprintOf(config, targets);
  const key = config.__plugin_id ?? `anonymous:${fingerprint}`;
  const existing = states.get(key);
  let state: BalancerState;
  if (existing !== undefined && existing.fingerprint === fingerprint) {
    existing.refresh(targets);
    state = existing;
  } else {
    state = new BalancerState(key, fingerprint, config, targets, deps, existing);
    states.delete(key);
    states.set(key, state);
    observer?.created(state);
    if (states.size > MAX_STATES) {
      const oldest = states.keys().next().value;
      if (oldest !== undefined) forgetBalancerState(oldest);
    }
  }
  byConfig.set(config, state);
  return state;
}

/** Drop a plugin's state (plugin deleted). */
export function forgetBalancerState(pluginId: string): void {
  const s = states.get(pluginId);
  if (s !== undefined) {
    s.retired = true;
    observer?.retired(s);
  }
  states.delete(pluginId);
}

/** Every live state, for the circuit-state metrics (observability/metrics.ts). */
export function balancerStates(): IterableIterator<BalancerState> {
  return states.values();
}

/** Drop every state (tests). */
export function clearBalancerRegistry(): void {
  for (const s of states.values()) {
    s.retired = true;
    observer?.retired(s);
  }
  states.clear();
}
