/**
 * validateConfig's accepted side: defaults filled the way Kong fills them, nulls for unset fields, Kong's
 * bookkeeping keys kept, vault references accepted where Kong accepts them, older-version configs accepted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PLUGIN_CONFIG, validateConfig, type PluginConfig, type TargetConfig } from '../../schemas';
import type { Field } from '../../schemas/dsl';

function valid(raw: unknown): PluginConfig {
  const r = validateConfig(raw);
  assert.deepEqual(r.ok ? [] : r.errors, []);
  if (!r.ok) throw new Error('unreachable');
  return r.config;
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object') {
    Object.values(v).forEach(deepFreeze);
    Object.freeze(v);
  }
  return v;
}

function target(c: PluginConfig, i: number): TargetConfig {
  const t = c.targets[i];
  if (!t) throw new Error(`no target ${i}`);
  return t;
}

const CHAT = { route_type: 'llm/v1/chat', model: { provider: 'openai', name: 'gpt-4o' } };

test('a minimal config gets Kong defaults, created records and nulls for unset fields', () => {
  const c = valid({ targets: [CHAT] });
  assert.deepEqual(c.balancer, {
    algorithm: 'round-robin',
    connect_timeout: 60000,
    fail_timeout: 10000,
    failover_criteria: ['error', 'timeout'],
    hash_on_header: 'X-Kong-LLM-Request-ID',
    latency_strategy: 'tpot',
    max_fails: 0,
    read_timeout: 60000,
    retries: 5,
    slots: 10000,
    tokens_count_strategy: 'total-tokens',
    write_timeout: 60000,
  });
  assert.equal(c.max_request_body_size, 1048576);
  assert.equal(c.response_streaming, 'allow');
  assert.equal(c.llm_format, 'openai');
  assert.equal(c.genai_category, 'text/generation');
  assert.equal(c.model_name_header, true);
  assert.equal(c.embeddings, null);
  assert.equal(c.vectordb, null);
  assert.equal(c.acls, null);
  const t = target(c, 0);
  assert.equal(t.weight, 100);
  assert.deepEqual(t.logging, { log_payloads: false, log_statistics: false });
  assert.equal(t.auth, null);
  assert.equal(t.description, null);
  assert.deepEqual(t.model, { model_alias: null, name: 'gpt-4o', options: null, provider: 'openai' });
});

test('nested records given by the user get their own defaults', () => {
  const c = valid({
    targets: [{ ...CHAT, auth: { header_name: 'Authorization', header_value: 'Bearer x' }, model: { provider: 'azure', options: { azure_instance: 'i', azure_deployment_id: 'd' } } }],
    vectordb: { strategy: 'redis', dimensions: 1536, distance_metric: 'cosine', threshold: 0.2 },
  });
  const t = target(c, 0);
  assert.equal(t.auth?.allow_override, false);
  assert.equal(t.auth?.gcp_use_service_account, false);
  const options = t.model.options;
  assert.equal(options?.azure_api_version, '2023-05-15');
  assert.equal(options?.bedrock, null);
  assert.equal(c.vectordb?.redis?.host, '127.0.0.1');
  assert.equal(c.vectordb?.redis?.port, 6379);
  assert.equal(c.vectordb?.redis?.ssl_verify, true);
  assert.equal(c.vectordb?.redis?.cloud_authentication, null);
  assert.equal(c.vectordb?.pgvector?.port, 5432);
});

test('an explicit null on a field with a default gets the default', () => {
  const c = valid({ targets: [{ ...CHAT, weight: null, logging: null }], balancer: null, max_request_body_size: null });
  assert.equal(target(c, 0).weight, 100);
  assert.equal(target(c, 0).logging?.log_statistics, false);
  assert.equal(c.balancer?.algorithm, 'round-robin');
  assert.equal(c.max_request_body_size, 1048576);
});

test('the input is never modified', () => {
  const raw = deepFreeze({ targets: [CHAT], vectordb: { strategy: 'redis', dimensions: 3, distance_metric: 'cosine', redis: { timeout: 10 } } });
  valid(raw);
});

test('a config as Kong sends it (filled, nulls, bookkeeping keys) validates to itself', () => {
  const first = valid({ targets: [CHAT], __plugin_id: 'c0ffee', __seq__: 3, route_id: 'r1', plugin_instance_name: 'ai' });
  assert.equal(first.__plugin_id, 'c0ffee');
  assert.equal(first.__seq__, 3);
  assert.equal(first.route_id, 'r1');
  const again = valid(JSON.parse(JSON.stringify(first)));
  assert.deepEqual(again, first);
});

test('vault references are accepted in referenceable fields, whatever their type or enum', () => {
  const c = valid({
    targets: [{ ...CHAT, auth: { header_name: 'Authorization', header_value: '{vault://env/OPENAI_KEY}' } }],
    vectordb: {
      strategy: 'redis',
      dimensions: 3,
      distance_metric: 'cosine',
      redis: {
        host: '{vault://aws/redis/host}',
        port: '{vault://env/REDIS_PORT}',
        cloud_authentication: { auth_provider: '{vault://env/CLOUD}' },
      },
    },
  });
  assert.equal(target(c, 0).auth?.header_value, '{vault://env/OPENAI_KEY}');
  assert.equal(c.vectordb?.redis?.port as unknown, '{vault://env/REDIS_PORT}');
});

test('a cross-field rule does not run when one of its fields holds a vault reference (as in Kong)', () => {
  valid({ targets: [{ ...CHAT, auth: { header_name: '{vault://env/HEADER}' } }] });
});

test('a Kong 3.8-style config (required logging, max_tokens, redis shorthands) is accepted and translated', () => {
  const c = valid({
    targets: [
      { ...CHAT, description: 'general', logging: { log_statistics: true, log_payloads: false }, model: { provider: 'openai', options: { max_tokens: 256, input_cost: 1, output_cost: 2 } } },
    ],
    balancer: { algorithm: 'semantic' },
    embeddings: { model: { provider: 'openai', name: 'text-embedding-3-small' } },
    vectordb: {
      strategy: 'redis',
      dimensions: 1536,
      distance_metric: 'cosine',
      threshold: 0.1,
      redis: { timeout: 500, sentinel_addresses: ['sentinel-a:26379', 'sentinel-b'], sentinel_master: 'mymaster', sentinel_role: 'master' },
    },
    max_request_body_size: 8192,
  });
  const redis = c.vectordb?.redis;
  assert.equal(redis?.connect_timeout, 500);
  assert.equal(redis?.send_timeout, 500);
  assert.equal(redis?.read_timeout, 500);
  assert.deepEqual(redis?.sentinel_nodes, [
    { host: 'sentinel-a', port: 26379 },
    { host: 'sentinel-b', port: 6379 },
  ]);
  assert.equal('timeout' in (redis ?? {}), false);
});

test('the explicit field wins over a redis shorthand', () => {
  const c = valid({
    targets: [CHAT],
    vectordb: { strategy: 'redis', dimensions: 3, distance_metric: 'cosine', redis: { timeout: 500, read_timeout: 9000 } },
  });
  assert.equal(c.vectordb?.redis?.read_timeout, 9000);
  assert.equal(c.vectordb?.redis?.connect_timeout, 500);
});

test('Kong 3.13/3.14 fields are accepted (acls, model_alias, cost lists, circuit breaker, metadata)', () => {
  const c = valid({
    targets: [
      {
        ...CHAT,
        metadata: { team: 'a', nested: { any: [1, 2] } },
        model: {
          provider: 'anthropic',
          name: 'claude-sonnet-4',
          model_alias: 'smart',
          options: {
            anthropic_version: '2023-06-01',
            cache_read_cost: 0.3,
            cache_write_cost_list: [{ ttl: '5m', cost: 3.75 }],
            context_window_factor: [{ above: '200k', input_factor: 2, output_factor: 1.5 }],
            service_tier_factor: [{ tier: 'priority', factor: 1.2 }],
          },
        },
      },
      // llm/v1/multimodal-embeddings (3.14) is in the enum but served by no provider yet: route-types-config.test.ts.
      { route_type: 'llm/v1/embeddings', model: { provider: 'vllm', options: { upstream_url: 'http://vllm:8000/v1' } } },
    ],
    balancer: { algorithm: 'least-connections', max_fails: 3, fail_timeout: 30000, failover_criteria: ['error', 'http_429'] },
    acls: { allow: [{ match: [{ type: 'header', key: 'x-team', values: ['a'] }] }], deny: [{ match: [{ type: 'model', values: ['gpt-4o'] }] }] },
  });
  assert.equal(target(c, 0).model.model_alias, 'smart');
  assert.equal(c.acls?.allow?.[0]?.match[0]?.key, 'x-team');
  assert.equal(c.acls?.deny?.[0]?.match[0]?.key, null);
});

test('max_request_body_size 0 (unlimited, 3.10+) and a targets list of zero are accepted as Kong accepts them', () => {
  const c = valid({ targets: [], max_request_body_size: 0 });
  assert.equal(c.max_request_body_size, 0);
});

test('every referenceable field of the definition accepts a vault reference, and a plain field does not', () => {
  const refPaths: string[] = [];
  const walk = (f: Field, p: string) => {
    if (f.type === 'record') for (const [k, c] of Object.entries(f.fields)) walk(c, p ? `${p}.${k}` : k);
    else if (f.type === 'array') walk(f.elements, `${p}.0`);
    else if ((f.type === 'string' || f.type === 'integer' || f.type === 'number') && f.referenceable) refPaths.push(p);
  };
  walk(PLUGIN_CONFIG, '');
  assert.ok(refPaths.length >= 40, `only ${refPaths.length} referenceable fields`);
  const base = () => ({
    targets: [{ route_type: 'llm/v1/chat', model: { provider: 'openai' } }],
    embeddings: { model: { provider: 'openai', name: 'text-embedding-3-small' } },
    vectordb: { strategy: 'redis', dimensions: 8, distance_metric: 'cosine' },
  });
  const set = (root: Record<string, unknown>, dotted: string, value: unknown) => {
    const parts = dotted.split('.');
    let cur: Record<string, unknown> = root;
    parts.slice(0, -1).forEach((part, i) => {
      const nextIsIndex = /^\d+$/.test(parts[i + 1] as string);
      cur[part] ??= nextIsIndex ? [] : {};
      cur = cur[part] as Record<string, unknown>;
    });
    cur[parts[parts.length - 1] as string] = value;
  };
  for (const p of refPaths) {
    const cfg = base();
    set(cfg, p, '{vault://env/SOME_SECRET}');
    const r = validateConfig(cfg);
    assert.deepEqual(r.ok ? [] : r.errors, [], p);
  }
  const plain = base();
  set(plain, 'targets.0.model.name', '{vault://env/MODEL}');
  assert.equal(validateConfig(plain).ok, true, 'a plain string field takes the text as it is');
  set(plain, 'vectordb.dimensions', '{vault://env/DIMS}');
  assert.equal(validateConfig(plain).ok, false, 'a non-referenceable integer refuses it');
});
