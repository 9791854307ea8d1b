/**
 * Test-only stand-ins for the balancer work (never used by product code): a plain round-robin over the targets
 * not excluded, and a target health that counts failures per max_fails/fail_timeout and honours Retry-After.
 * They let the engine's tests run before the real balancers are merged; they record what the engine reports.
 */
import type { PluginConfig } from '../../schemas/config';
import type { Balancer, BalancerTarget, Outcome } from '../../plugins/ai-proxy-advanced/balancer/balancer';
import type { AttemptHealthOutcome, TargetHealth } from '../../plugins/ai-proxy-advanced/engine/health';
import type { BalancerSource } from '../../plugins/ai-proxy-advanced/engine/runtime';

export class TestRoundRobin implements Balancer {
  private next = 0;
  readonly reports: Array<{ index: number; outcome: Outcome }> = [];

  constructor(private readonly targets: readonly BalancerTarget[]) {}

  pick(req: { exclude: ReadonlySet<number> }): BalancerTarget | undefined {
    for (let i = 0; i < this.targets.length; i++) {
      const t = this.targets[(this.next + i) % this.targets.length] as BalancerTarget;
      if (!req.exclude.has(t.index)) {
        this.next = (this.next + i + 1) % this.targets.length;
        return t;
      }
    }
    return undefined;
  }

  report(target: BalancerTarget, outcome: Outcome): void {
    this.reports.push({ index: target.index, outcome });
  }
}

export class TestHealth implements TargetHealth {
  private readonly fails = new Map<number, { count: number; openUntil: number }>();
  private readonly waits = new Map<number, number>();
  readonly records: Array<{ index: number; outcome: AttemptHealthOutcome }> = [];

  constructor(
    private readonly maxFails: number,
    private readonly failTimeoutMs: number,
  ) {}

  excluded(now: number): ReadonlySet<number> {
    const out = new Set<number>();
    for (const [i, f] of this.fails) if (f.openUntil > now) out.add(i);
    for (const [i, until] of this.waits) if (until > now) out.add(i);
    return out;
  }

  record(index: number, outcome: AttemptHealthOutcome, now: number): void {
    this.records.push({ index, outcome });
    if (outcome.retryAfterMs !== undefined) this.waits.set(index, now + outcome.retryAfterMs);
    if (outcome.ok) {
      this.fails.delete(index);
      return;
    }
    if (!outcome.counted || this.maxFails <= 0) return;
    const f = this.fails.get(index) ?? { count: 0, openUntil: 0 };
    f.count++;
    if (f.count >= this.maxFails) f.openUntil = now + this.failTimeoutMs;
    this.fails.set(index, f);
  }
}

export interface TestBalancerHandle {
  source: BalancerSource;
  last(): { balancer: TestRoundRobin; health: TestHealth };
}

export function testBalancerSource(): TestBalancerHandle {
  let last: { balancer: TestRoundRobin; health: TestHealth } | undefined;
  const source: BalancerSource = (config: PluginConfig) => {
    const targets: BalancerTarget[] = config.targets.map((t, index) => ({ index, id: String(index), weight: t.weight ?? 100, config: t }));
    const b = config.balancer ?? {};
    last = { balancer: new TestRoundRobin(targets), health: new TestHealth(b.max_fails ?? 0, b.fail_timeout ?? 10_000) };
    return last;
  };
  return {
    source,
    last: () => {
      if (!last) throw new Error('no balancer built yet');
      return last;
    },
  };
}
