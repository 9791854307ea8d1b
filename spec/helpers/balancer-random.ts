/**
 * Deterministic randomness and time for balancer tests: the seeded PRNG (seeded-random.ts), a hand-cranked
 * clock, and a target builder so tests read as tables of weights.
 */
import type { BalancerDeps, BalancerTarget } from '../../plugins/ai-proxy-advanced/balancer/balancer';
import { buildTargets } from '../../plugins/ai-proxy-advanced/balancer/targets';
import type { FilledTargetConfig, TargetConfig } from '../../schemas/config';
import { filledTarget } from './filled-config';
import { seededRandom } from './seeded-random';

export { seededRandom };

export interface FakeClock {
  now(): number;
  advance(ms: number): void;
  set(ms: number): void;
}

export function fakeClock(start = 1_700_000_000_000): FakeClock {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
    set: (ms) => {
      t = ms;
    },
  };
}

export function fakeDeps(seed = 1, clock: FakeClock = fakeClock()): BalancerDeps & { clock: FakeClock } {
  return { now: clock.now, random: seededRandom(seed), clock };
}

/** An OpenAI chat target for `model`, with an optional weight. */
export function targetConfig(model: string, weight?: number, extra: Partial<TargetConfig> = {}): FilledTargetConfig {
  return filledTarget({
    route_type: 'llm/v1/chat',
    model: { provider: 'openai', name: model, options: { max_tokens: 512 } },
    auth: { header_name: 'Authorization', header_value: 'Bearer sk-test-secret' },
    ...(weight === undefined ? {} : { weight }),
    ...extra,
  });
}

/** BalancerTargets named by model: `targets({ a: 70, b: 25, c: 5 })`. */
export function targets(weights: Record<string, number>): BalancerTarget[] {
  return buildTargets(Object.entries(weights).map(([name, w]) => targetConfig(name, w)));
}

/** Model name of a picked target (undefined when none). */
export function nameOf(t: BalancerTarget | undefined): string | undefined {
  return t === undefined ? undefined : (t.config.model.name ?? undefined);
}

/** Count picks per model name over `n` picks produced by `pickOnce`. */
export function tally(n: number, pickOnce: (i: number) => BalancerTarget | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const name = nameOf(pickOnce(i)) ?? '(none)';
    out.set(name, (out.get(name) ?? 0) + 1);
  }
  return out;
}

export const NONE: ReadonlySet<number> = new Set<number>();
