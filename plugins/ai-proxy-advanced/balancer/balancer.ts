/**
 * The contract every `balancer.algorithm` implements (Kong's getPeer/afterBalance pair from
 * kong/runloop/balancer/*.lua, undici's BalancedPool). Balancers are pure: time and randomness are injected,
 * no I/O, no PDK. One file per algorithm, named after its config value (round-robin.ts, ...).
 *
 * Life of one attempt, driven by the engine:
 *   const t = balancer.pick({ hashKey, exclude })   // exclude = tried in this request ∪ circuit-open ∪ Retry-After
 *   ... call the provider ...
 *   balancer.report(t, outcome)                      // exactly once per successful pick, success or failure
 */
import type { BalancerConfig, TargetConfig } from '../../../schemas/config';
import type { TokenUsage } from '../providers/provider';

export interface BalancerTarget {
  /** Position in config.targets. */
  readonly index: number;
  /**
   * Stable identity derived from the target's definition (not a random id), so every worker, process and
   * restart maps hash keys alike.
   */
  readonly id: string;
  readonly weight: number;
  readonly config: TargetConfig;
}

export interface PickRequest {
  /** consistent-hashing: the value of the `hash_on_header` request header (undefined when absent). */
  readonly hashKey?: string | undefined;
  /** Target indexes that must not be picked for this attempt. */
  readonly exclude: ReadonlySet<number>;
  /** semantic: this request's candidate groups (matched description's targets, then CATCHALL), from semantic/. */
  readonly semantic?: { readonly groups: readonly (readonly number[])[] } | undefined;
}

export interface Outcome {
  readonly ok: boolean;
  /** End-to-end latency of the attempt in ms (request sent → response complete). */
  readonly latencyMs?: number;
  readonly usage?: TokenUsage;
  /** Cost of the response in the configured currency (input/output_cost per 1M tokens). */
  readonly cost?: number;
}

export interface Balancer {
  /** The next target, or undefined when none is available (Kong: "failed to get peer"). */
  pick(req: PickRequest): BalancerTarget | undefined;
  /** Feedback for the target returned by `pick` (latency/usage data points, in-flight counts). */
  report(target: BalancerTarget, outcome: Outcome): void;
}

export interface BalancerDeps {
  /** Milliseconds, monotonic enough for EWMA decay. */
  now(): number;
  /** Uniform in [0, 1). */
  random(): number;
}

export type BalancerFactory = (config: BalancerConfig, targets: readonly BalancerTarget[], deps: BalancerDeps) => Balancer;
