/**
 * The balancer package: `createBalancer` builds the algorithm named by `balancer.algorithm`, `buildTargets`
 * gives targets their stable ids, `TargetHealth` is the circuit breaker and Retry-After exclusion, and
 * `balancerStateFor` keeps per-plugin state at module scope (registry.ts).
 */
export type { Balancer, BalancerDeps, BalancerFactory, BalancerTarget, Outcome, PickRequest } from './balancer';
export { createBalancer, type PreviousState } from './create-balancer';
export { buildTargets, targetBaseId } from './targets';
export { TargetHealth, type AttemptFailure, type TargetHealthStatus } from './circuit-breaker';
export { BalancerState, balancerStateFor, balancerStates, clearBalancerRegistry, forgetBalancerState, DEFAULT_DEPS } from './registry';
