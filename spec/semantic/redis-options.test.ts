/**
 * Every `vectordb.redis` field reaches ioredis: ACL user/password and database against a real password-protected
 * redis-server; Sentinel, Cluster, TLS and timeouts as ioredis options; cloud_authentication refused by name;
 * euclidean with the redis strategy is RediSearch's squared L2.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import Redis from 'ioredis';
import type { FilledConfig, PluginConfig, RedisConfig, TargetConfig } from '../../schemas/config';
import { defaultAttemptDeps } from '../../plugins/ai-proxy-advanced/engine/defaults';
import { UnsupportedFeatureError } from '../../plugins/ai-proxy-advanced/errors';
import { closeSemanticRouters, configureSemantic, prepareSemanticPick } from '../../plugins/ai-proxy-advanced/semantic';
import { redisOptions } from '../../plugins/ai-proxy-advanced/semantic/store/redis';
import { sha256hex } from '../../plugins/ai-proxy-advanced/semantic/vector';
import { filledPgvector, filledRedis, validConfig } from '../helpers/filled-config';
import { EngineUpstream } from '../helpers/engine-upstream';
import { lexicalEmbeddings } from '../helpers/lexical-embeddings';
import { RedisServer } from '../helpers/redis-server';

let emb: EngineUpstream;
let redis: RedisServer;

before(async () => {
  [emb, redis] = await Promise.all([EngineUpstream.start(lexicalEmbeddings(16)), RedisServer.start(['--requirepass', 'pw-SECRET'])]);
  configureSemantic({ log: () => undefined });
});
after(async () => {
  await closeSemanticRouters();
  await redis.stop();
  await emb.close();
});

const target = (description: string): TargetConfig => ({ route_type: 'llm/v1/chat', description, model: { provider: 'openai', name: 'm' } }) as TargetConfig;

function config(id: string, redisConfig: RedisConfig, metric: 'cosine' | 'euclidean' = 'cosine', threshold = 0.7): FilledConfig {
  return validConfig({
    __plugin_id: id,
    targets: [target('Specialist in code completions'), target('CATCHALL')],
    balancer: { algorithm: 'semantic' },
    embeddings: { model: { provider: 'openai', name: 'm', options: { upstream_url: `${emb.url}/v1/embeddings` } } },
    vectordb: { strategy: 'redis', distance_metric: metric, threshold, dimensions: 16, redis: redisConfig },
  } as unknown as PluginConfig);
}
const ask = (text: string) => ({ messages: [{ role: 'user', content: text }] });

test('password and database: the vectors land in the configured database of a password-protected server', async () => {
  const c = config('auth-db', { host: '127.0.0.1', port: redis.port, password: 'pw-SECRET', database: 3 });
  await prepareSemanticPick(c, ask('code completions'), defaultAttemptDeps.signDeps);
  const r = new Redis({ port: redis.port, password: 'pw-SECRET', db: 3 });
  try {
    const key = `ai_proxy_advanced_semantic:auth-db:${sha256hex('Specialist in code completions')}`;
    for (let i = 0; i < 100 && (await r.exists(key)) === 0; i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(await r.exists(key), 1);
    await r.select(0);
    assert.equal(await r.exists(key), 0);
  } finally {
    r.disconnect();
  }
});

test('a wrong password fails no request: routing works from memory', async () => {
  const c = config('bad-pw', { host: '127.0.0.1', port: redis.port, password: 'wrong', connect_timeout: 300 });
  assert.deepEqual((await prepareSemanticPick(c, ask('code completions'), defaultAttemptDeps.signDeps))?.groups, [[0], [1]]);
});

test('euclidean with redis is the squared L2 distance (RediSearch)', async () => {
  // 'code completions helper' is two words from the description: squared 2, plain √2.
  const c = config('euclid-redis', { host: '127.0.0.1', port: redis.port, password: 'pw-SECRET' }, 'euclidean', 1.5);
  assert.deepEqual((await prepareSemanticPick(c, ask('code completions helper'), defaultAttemptDeps.signDeps))?.groups, [[1]]);
  assert.deepEqual((await prepareSemanticPick(c, ask('code completions'), defaultAttemptDeps.signDeps))?.groups, [[0], [1]]);
});

test('cluster_nodes: a real one-node Redis Cluster (all 16384 slots) through ioredis Cluster', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'redis-cluster-'));
  // A lone node announces an empty address in CLUSTER SLOTS unless told its own.
  const node = await RedisServer.start(['--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, 'nodes.conf'), '--cluster-announce-ip', '127.0.0.1']);
  const admin = new Redis({ port: node.port });
  try {
    await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    for (let i = 0; i < 200; i++) {
      const info = String(await admin.call('CLUSTER', 'INFO'));
      if (info.includes('cluster_state:ok')) break;
      await new Promise((res) => setTimeout(res, 25));
    }
    const c = config('cluster-plugin', { cluster_nodes: [{ ip: '127.0.0.1', port: node.port }], cluster_max_redirections: 3 } as RedisConfig);
    assert.deepEqual((await prepareSemanticPick(c, ask('code completions'), defaultAttemptDeps.signDeps))?.groups, [[0], [1]]);
    const key = `ai_proxy_advanced_semantic:cluster-plugin:${sha256hex('Specialist in code completions')}`;
    for (let i = 0; i < 100 && (await admin.exists(key)) === 0; i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(await admin.exists(key), 1);
  } finally {
    await closeSemanticRouters();
    admin.disconnect();
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Sentinel, TLS, ACL user and timeouts map to ioredis options; cloud_authentication is refused', () => {
  const o = redisOptions(filledRedis({
    sentinel_master: 'mymaster',
    sentinel_nodes: [{ host: 's1', port: 26379 }],
    sentinel_role: 'slave',
    sentinel_username: 'su',
    sentinel_password: 'sp',
    username: 'u',
    password: 'p',
    ssl: true,
    ssl_verify: false,
    server_name: 'redis.example',
    connect_timeout: 111,
    read_timeout: 222,
    send_timeout: 333,
    database: 2,
  } as RedisConfig));
  assert.deepEqual(o.sentinels, [{ host: 's1', port: 26379 }]);
  assert.equal(o.name, 'mymaster');
  assert.equal(o.role, 'slave');
  assert.equal(o.sentinelUsername, 'su');
  assert.equal(o.sentinelPassword, 'sp');
  assert.equal(o.username, 'u');
  assert.equal(o.password, 'p');
  assert.deepEqual(o.tls, { rejectUnauthorized: false, servername: 'redis.example' });
  assert.equal(o.enableTLSForSentinelMode, true);
  assert.equal(o.connectTimeout, 111);
  assert.equal(o.commandTimeout, 333);
  assert.equal(o.db, 2);
  assert.equal(o.enableOfflineQueue, false);
  assert.throws(() => redisOptions(filledRedis({ cloud_authentication: { auth_provider: 'aws' } } as RedisConfig)), UnsupportedFeatureError);
});
