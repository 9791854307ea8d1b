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
  ModelConfig,
  PluginConfig,
  RedisConfig,
  TargetConfig,
  VectordbConfig,
} from '../../schemas/config';

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
  assert.equal(minimal.targets.length, 1);
  assert.equal(fromKong.targets.length, 1);
});
