/**
 * BalancerTarget identity. A target's id is derived from its definition, never a random uuid (EE 3.9 used
 * one per build, so consistent-hashing mapped differently in every worker and after every reload, spec
 * §2.2), so every worker, process and restart agree on it.
 *
 * The id covers what makes a target a different endpoint or a different model behaviour: route_type,
 * model.provider, model.name, model.model_alias and model.options — except pricing (input_cost,
 * output_cost, cache_*_cost, *_factor), which is accounting, not routing. It never covers `auth` (secrets;
 * also, rotating a key must not reshuffle hash keys or reset learned latencies), `weight` (the ring already
 * scales by weight), `description`, `metadata` or `logging`. Null and absent fields are the same (Kong sends
 * null for unset fields; hand-written configs omit them), and key order does not matter.
 *
 * Identical definitions are told apart by occurrence number in config order: the first keeps the plain id,
 * the next ones get `#1`, `#2`, … so adding a duplicate does not change the first one's id.
 *
 * Shape: `<provider>/<model name or *>@<route_type>~<12 hex of sha256(canonical definition)>[#n]`; readable
 * in logs, and the digest reveals nothing of the options.
 */
import { createHash } from 'node:crypto';
import type { FilledTargetConfig, TargetConfig } from '../../../schemas/config';
import type { BalancerTarget } from './balancer';

const PRICING_OPTIONS: ReadonlySet<string> = new Set([
  'input_cost',
  'output_cost',
  'cache_read_cost',
  'cache_write_cost',
  'cache_write_cost_list',
  'context_window_factor',
  'service_tier_factor',
]);

/** JSON with sorted keys, null/undefined members dropped. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const parts: string[] = [];
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v === null || v === undefined) continue;
      parts.push(`${JSON.stringify(k)}:${canonicalJson(v)}`);
    }
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The part of a target definition its identity is derived from (see the module comment). */
export function identityDefinition(t: TargetConfig): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(t.model.options ?? {})) {
    if (!PRICING_OPTIONS.has(k)) options[k] = v;
  }
  return {
    route_type: t.route_type,
    provider: t.model.provider,
    name: t.model.name,
    model_alias: t.model.model_alias,
    options,
  };
}

export function targetBaseId(t: TargetConfig): string {
  const digest = createHash('sha256').update(canonicalJson(identityDefinition(t))).digest('hex').slice(0, 12);
  return `${t.model.provider}/${t.model.name ?? '*'}@${t.route_type}~${digest}`;
}

/** BalancerTargets for `config.targets`, in config order, with stable ids. */
export function buildTargets(targets: readonly FilledTargetConfig[]): BalancerTarget[] {
  const seen = new Map<string, number>();
  return targets.map((config, index) => {
    const base = targetBaseId(config);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return {
      index,
      id: n === 0 ? base : `${base}#${n}`,
      weight: config.weight,
      config,
    };
  });
}
