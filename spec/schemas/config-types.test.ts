/**
 * Compile-time checks that the derived config types keep the shape other modules code against: if one of
 * these assignments stops type-checking, `npm run build` fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  AclMatch,
  AiProxyAdvancedConfig,
  AuthConfig,
  BalancerConfig,
  FilledBalancerConfig,
  FilledConfig,
  FilledTargetConfig,
  ModelConfig,
  PluginConfig,
  RedisConfig,
  TargetConfig,
  VectordbConfig,
} from '../../schemas/config';
import { validateConfig } from '../../schemas/validate';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

test('required properties are exactly the fields a user must always supply', () => {
  expectType<Equal<TargetConfig['route_type'], import('../../schemas/config').RouteType>>();
  expectType<Equal<ModelConfig['provider'], import('../../schemas/config').ProviderName>>();
  expectType<Equal<AclMatch['values'], string[]>>();
  expectType<Equal<VectordbConfig['dimensions'], number>>();
  expectType<Equal<null extends TargetConfig['model'] ? true : false, false>>();
  expectType<Equal<null extends AiProxyAdvancedConfig['targets'] ? true : false, false>>();
  expectType<Equal<null extends TargetConfig['logging'] ? true : false, true>>();
  expectType<Equal<BalancerConfig['algorithm'], import('../../schemas/config').Algorithm | null | undefined>>();
  expectType<Equal<AuthConfig['header_value'], string | null | undefined>>();
  expectType<Equal<RedisConfig['sentinel_role'], 'master' | 'slave' | 'any' | null | undefined>>();

  const minimal: AiProxyAdvancedConfig = { targets: [{ route_type: 'llm/v1/chat', model: { provider: 'openai' } }] };
  const fromKong: PluginConfig = {
    targets: [
      {
        route_type: 'llm/v1/chat',
        model: { provider: 'anthropic', name: null, options: { anthropic_version: '2023-06-01', max_tokens: null } },
        auth: null,
        logging: { log_statistics: false, log_payloads: false },
        weight: 100,
        description: null,
        metadata: null,
      },
    ],
    balancer: null,
    embeddings: null,
    vectordb: null,
    __plugin_id: 'c0ffee',
    __seq__: 1,
  };
  // Both shapes are configs validateConfig accepts (a type that admitted invalid configs would be no guide).
  assert.equal(validateConfig(minimal).ok, true);
  assert.equal(validateConfig(fromKong).ok, true);
});

test('the filled config type has every defaulted field non-optional, and validateConfig fills exactly those values', () => {
  expectType<Equal<FilledBalancerConfig['algorithm'], import('../../schemas/config').Algorithm>>();
  expectType<Equal<FilledBalancerConfig['retries'], number>>();
  expectType<Equal<FilledBalancerConfig['failover_criteria'], import('../../schemas/config').FailoverCriterion[]>>();
  expectType<Equal<FilledConfig['balancer'], FilledBalancerConfig>>();
  expectType<Equal<FilledTargetConfig['weight'], number>>();
  expectType<Equal<null extends FilledTargetConfig['logging'] ? true : false, false>>();
  // A field without a default stays optional and nullable.
  expectType<Equal<FilledBalancerConfig['fail_timeout'], number>>();
  expectType<Equal<FilledTargetConfig['description'], string | null | undefined>>();

  const r = validateConfig({ targets: [{ route_type: 'llm/v1/chat', model: { provider: 'openai' } }] });
  assert.ok(r.ok);
  const filled: FilledConfig = r.config;
  // The values themselves are checked in validate.test.ts ('a minimal config gets Kong defaults'); here: the
  // runtime object has exactly the keys the FilledBalancerConfig type promises as always present.
  const always: Array<keyof FilledBalancerConfig> = ['algorithm', 'connect_timeout', 'fail_timeout', 'failover_criteria', 'hash_on_header', 'latency_strategy', 'max_fails', 'read_timeout', 'retries', 'slots', 'tokens_count_strategy', 'write_timeout'];
  assert.deepEqual(Object.keys(filled.balancer).sort(), [...always].sort());
  assert.equal(filled.targets[0]?.weight, 100);
  assert.deepEqual(filled.targets[0]?.logging, { log_statistics: false, log_payloads: false });
});
