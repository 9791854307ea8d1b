/**
 * Filled configs for tests that build engine or balancer parts without going through validateConfig (the only
 * producer in production): the same default filling (schemas/defaults.ts), so tests never restate a schema
 * default. `validConfig` also validates and throws on a config the schema refuses.
 */
import type { BalancerConfig, FilledBalancerConfig, FilledConfig, FilledPgvectorConfig, FilledRedisConfig, FilledTargetConfig, PgvectorConfig, PluginConfig, RedisConfig, TargetConfig } from '../../schemas/config';
import { BALANCER, PGVECTOR, REDIS, TARGET } from '../../schemas/definition';
import { fillRecord } from '../../schemas/defaults';
import { validateConfig } from '../../schemas/validate';

export function validConfig(raw: PluginConfig | Record<string, unknown>): FilledConfig {
  const r = validateConfig(raw);
  if (!r.ok) throw new Error(`test config invalid: ${JSON.stringify(r.errors)}`);
  return r.config;
}

export function filledBalancer(partial: BalancerConfig = {}): FilledBalancerConfig {
  return fillRecord(BALANCER, partial as Record<string, unknown>) as unknown as FilledBalancerConfig;
}

export function filledTarget(t: TargetConfig): FilledTargetConfig {
  return fillRecord(TARGET, t as unknown as Record<string, unknown>) as unknown as FilledTargetConfig;
}

/** Filled without validation: for tests that deliberately hand the registry configs the schema would refuse. */
export function filledConfig(raw: PluginConfig): FilledConfig {
  return { ...raw, balancer: filledBalancer(raw.balancer ?? {}), targets: raw.targets.map(filledTarget) } as unknown as FilledConfig;
}

/** `vectordb.redis` / `vectordb.pgvector` records as validateConfig fills them, for tests of one store. */
export function filledRedis(partial: RedisConfig): FilledRedisConfig {
  return fillRecord(REDIS, partial as Record<string, unknown>) as unknown as FilledRedisConfig;
}

export function filledPgvector(partial: PgvectorConfig): FilledPgvectorConfig {
  return fillRecord(PGVECTOR, partial as Record<string, unknown>) as unknown as FilledPgvectorConfig;
}
