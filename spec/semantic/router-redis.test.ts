/**
 * Semantic routing against a real redis-server and a local embeddings server with LEXICAL vectors (hashed bag of
 * words, spec/helpers/lexical-embeddings.ts): Kong's key namespace, float32 vectors, prompt-vector cache, a
 * "second process" reading vectors from Redis, Redis outage and return, embeddings outage, Kong's errors.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import Redis from 'ioredis';
import type { FilledConfig, PluginConfig, TargetConfig } from '../../schemas/config';
import { EmbeddingsError, InvalidRequestError, NoHealthyTargetError } from '../../plugins/ai-proxy-advanced/errors';
import { closeSemanticRouters, configureSemantic, prepareSemanticPick, semanticRouterFor } from '../../plugins/ai-proxy-advanced/semantic';
import { clearDescriptionVectors } from '../../plugins/ai-proxy-advanced/semantic/router';
import { sha256hex } from '../../plugins/ai-proxy-advanced/semantic/vector';
import { defaultAttemptDeps } from '../../plugins/ai-proxy-advanced/engine/defaults';
import { validConfig } from '../helpers/filled-config';
import { EngineUpstream } from '../helpers/engine-upstream';
import { eventually } from '../helpers/gateway-harness';
import { lexicalEmbeddings, lexicalVector } from '../helpers/lexical-embeddings';
import { RedisServer } from '../helpers/redis-server';

const DIMS = 64;
const SIGN = defaultAttemptDeps.signDeps;
let emb: EngineUpstream;
let redis: RedisServer;
let r: Redis;
const logs: string[] = [];
let seq = 0;

function target(description: string, weight = 100): TargetConfig {
  return { route_type: 'llm/v1/chat', weight, description, model: { provider: 'openai', name: 'gpt-4o' } } as TargetConfig;
}

function config(targets: TargetConfig[], extra: { threshold?: number; embeddingsUrl?: string; id?: string } = {}): FilledConfig {
  return validConfig({
    __plugin_id: extra.id ?? `plugin-${++seq}`,
    targets,
    balancer: { algorithm: 'semantic' },
    embeddings: {
      auth: { header_name: 'Authorization', header_value: 'Bearer sk-EMB-SECRET' },
      model: { provider: 'openai', name: 'text-embedding-3-small', options: { upstream_url: extra.embeddingsUrl ?? `${emb.url}/v1/embeddings` } },
    },
    vectordb: { strategy: 'redis', distance_metric: 'cosine', threshold: extra.threshold ?? 0.7, dimensions: DIMS, redis: { host: '127.0.0.1', port: redis.port } },
  } as unknown as PluginConfig);
}

const DOCS_TARGETS = (): TargetConfig[] => [target('Specialist in code completions'), target('Requests related to IT support'), target('CATCHALL')];
const ask = (text: string) => ({ messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: text }] });
const embeddedTexts = (): string[] => emb.requests.map((q) => String(q.json?.['input']));

before(async () => {
  [emb, redis] = await Promise.all([EngineUpstream.start(lexicalEmbeddings(DIMS)), RedisServer.start()]);
  r = new Redis({ port: redis.port, lazyConnect: false });
  r.on('error', () => undefined); // the outage test stops the server under it
  configureSemantic({ log: (m) => logs.push(m) });
});

after(async () => {
  await closeSemanticRouters();
  r.disconnect();
  await redis.stop();
  await emb.close();
});

beforeEach(() => {
  emb.set(lexicalEmbeddings(DIMS));
  logs.length = 0;
});

describe('semantic routing with redis', () => {
  test('routes as the docs example says: code → code target, IT → IT target, anything else → CATCHALL', async () => {
    const c = config(DOCS_TARGETS());
    assert.deepEqual((await prepareSemanticPick(c, ask('Write code completions for my Python function'), SIGN))?.groups, [[0], [2]]);
    assert.deepEqual((await prepareSemanticPick(c, ask('I need IT support for my laptop'), SIGN))?.groups, [[1], [2]]);
    assert.deepEqual((await prepareSemanticPick(c, ask('Tell me a story about dragons'), SIGN))?.groups, [[2]]);
  });

  test('sends the embeddings auth and OpenAI body with dimensions, one call per description', async () => {
    const before = emb.requests.length;
    const c = config([target('Specialist in databases'), target('CATCHALL')]);
    await prepareSemanticPick(c, ask('tune my databases'), SIGN);
    const mine = emb.requests.slice(before);
    assert.equal(mine.length, 2); // one description, one prompt
    for (const q of mine) {
      assert.equal(q.headers['authorization'], 'Bearer sk-EMB-SECRET');
      assert.equal(q.json?.['model'], 'text-embedding-3-small');
      assert.equal(q.json?.['dimensions'], DIMS);
    }
  });

  test("description vectors are stored as float32 under Kong's namespace", async () => {
    const c = config(DOCS_TARGETS());
    await prepareSemanticPick(c, ask('anything'), SIGN);
    const key = `ai_proxy_advanced_semantic:${c.__plugin_id}:${sha256hex('Specialist in code completions')}`;
    const buf = await r.hgetBuffer(key, 'vector');
    assert.ok(buf, key);
    assert.equal(buf.length, DIMS * 4);
    const want = lexicalVector('Specialist in code completions', DIMS);
    for (let i = 0; i < DIMS; i++) assert.equal(buf.readFloatLE(i * 4), want[i]);
    assert.equal(await r.hget(key, 'hash'), sha256hex('Specialist in code completions'));
    assert.equal(await r.exists(`ai_proxy_advanced_semantic:${c.__plugin_id}:${sha256hex('CATCHALL')}`), 0);
  });

  test('a prompt vector is cached in Redis with a TTL: the same prompt is embedded once', async () => {
    const c = config(DOCS_TARGETS());
    const text = `Refactor this code completions helper ${Date.now()}`;
    await prepareSemanticPick(c, ask(text), SIGN);
    // The cache write does not hold the request up: wait for it.
    let keys: string[] = [];
    for (let i = 0; i < 100 && keys.length === 0; i++) {
      keys = await r.keys('ai_proxy_advanced_semantic:prompt:*');
      if (keys.length === 0) await new Promise((res) => setTimeout(res, 20));
    }
    assert.ok(keys.length > 0);
    for (let i = 0; i < 3; i++) await prepareSemanticPick(c, ask(text), SIGN);
    assert.equal(embeddedTexts().filter((t) => t === text).length, 1);
    const ttl = await r.ttl(keys[0]!);
    assert.ok(ttl > 0 && ttl <= 3600, String(ttl));
  });

  test('a second process reads the description vectors from Redis without calling the embeddings server', async () => {
    const id = `plugin-second-${Date.now()}`;
    await prepareSemanticPick(config(DOCS_TARGETS(), { id }), ask('hello'), SIGN);
    await closeSemanticRouters();
    clearDescriptionVectors();
    const before = embeddedTexts().length;
    const routed = await prepareSemanticPick(config(DOCS_TARGETS(), { id }), ask('hello'), SIGN);
    assert.deepEqual(routed?.groups, [[2]]);
    const after = embeddedTexts().slice(before);
    assert.ok(!after.includes('Specialist in code completions') && !after.includes('Requests related to IT support'), after.join('|'));
  });

  test('identical descriptions form one group in config order; CATCHALL follows', async () => {
    const c = config([target('Specialist in real life topics', 2), target('Specialist in programming problems', 75), target('Specialist in programming problems', 25), target('CATCHALL')]);
    assert.deepEqual((await prepareSemanticPick(c, ask('programming problems with recursion'), SIGN))?.groups, [[1, 2], [3]]);
    assert.deepEqual((await prepareSemanticPick(c, ask('real life topics like cooking'), SIGN))?.groups, [[0], [3]]);
  });

  test('no match and no CATCHALL: Kong\'s 500 naming the threshold', async () => {
    const c = config([target('Specialist in code completions')], { threshold: 0.3 });
    await assert.rejects(prepareSemanticPick(c, ask('Tell me about dragons'), SIGN), (e: unknown) => e instanceof NoHealthyTargetError && e.status === 500 && /vectordb\.threshold 0\.3/.test(e.message));
  });

  test('bad input answers Kong\'s 400s before any embeddings call', async () => {
    const c = config(DOCS_TARGETS());
    const before = emb.requests.length;
    await assert.rejects(prepareSemanticPick(c, { prompt: 'x' }, SIGN), (e: unknown) => e instanceof InvalidRequestError && e.message === 'this LLM route only supports chat requests');
    await assert.rejects(prepareSemanticPick(c, { messages: [{ role: 'system', content: 'x' }] }, SIGN), (e: unknown) => e instanceof InvalidRequestError && e.message === 'no user message found in the request');
    await assert.rejects(prepareSemanticPick(c, { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, SIGN), InvalidRequestError);
    // text parts of the last user message are joined
    assert.deepEqual((await prepareSemanticPick(c, { messages: [{ role: 'user', content: 'IT support' }, { role: 'user', content: [{ type: 'text', text: 'code' }, { type: 'text', text: 'completions' }] }] }, SIGN))?.groups, [[0], [2]]);
    assert.ok(emb.requests.length > before);
  });

  test('an embeddings outage routes to CATCHALL, or answers a 500 naming the embeddings call without its key', async () => {
    const withCatchall = config(DOCS_TARGETS());
    await prepareSemanticPick(withCatchall, ask('warm'), SIGN);
    emb.set({ kind: 'json', status: 503, body: { error: 'down' } });
    assert.deepEqual((await prepareSemanticPick(withCatchall, ask(`code completions ${Date.now()}`), SIGN))?.groups, [[2]]);
    const without = config([target('Specialist in code completions')]);
    await assert.rejects(prepareSemanticPick(without, ask('code completions'), SIGN), (e: unknown) => {
      assert.ok(e instanceof EmbeddingsError && e.status === 500, String(e));
      assert.match(e.message, /embeddings call \(openai http:\/\/127\.0\.0\.1:\d+\/v1\/embeddings\)/);
      assert.ok(!e.message.includes('SECRET'));
      return true;
    });
    assert.equal(logs.filter((l) => l.includes('could not embed the description')).length, 1, logs.join('\n'));
  });

  test('a failed description embedding is retried in the background', async () => {
    emb.set({ kind: 'json', status: 500, body: {} });
    const c = config([target('Specialist in gardening'), target('CATCHALL')]);
    assert.deepEqual((await prepareSemanticPick(c, ask('gardening tips'), SIGN))?.groups, [[1]]);
    emb.set(lexicalEmbeddings(DIMS));
    const router = semanticRouterFor(c, SIGN);
    await eventually(() => router.ready, 200, 25);
    assert.deepEqual((await prepareSemanticPick(c, ask('gardening tips'), SIGN))?.groups, [[0], [1]]);
    assert.ok(logs.some((l) => /embedded after 1 failed round/.test(l)), logs.join('\n'));
  });

  test('a vector whose length is not vectordb.dimensions is an error naming both numbers', async () => {
    emb.set(() => ({ kind: 'json', body: { data: [{ embedding: new Array(12).fill(0.5) }] } }));
    const c = config([target('Specialist in code completions')]);
    await assert.rejects(prepareSemanticPick(c, ask('code'), SIGN), (e: unknown) => e instanceof Error && /vector of 12 dimensions, but vectordb\.dimensions is 64/.test(e.message));
  });

  test('Redis stopped mid-run fails no routing; one log line each way; vectors re-synced on return', async () => {
    const c = config(DOCS_TARGETS());
    await prepareSemanticPick(c, ask('warm up'), SIGN);
    await redis.stop();
    for (let i = 0; i < 20; i++) {
      assert.deepEqual((await prepareSemanticPick(c, ask(`code completions number ${i}`), SIGN))?.groups, [[0], [2]]);
    }
    await eventually(() => logs.some((l) => l.includes('unreachable')), 200, 25);
    await redis.startProcess();
    await eventually(() => logs.some((l) => l.includes('reachable again')), 400, 25);
    const key = `ai_proxy_advanced_semantic:${c.__plugin_id}:${sha256hex('Requests related to IT support')}`;
    const r2 = new Redis({ port: redis.port });
    r2.on('error', () => undefined);
    try {
      for (let i = 0; i < 100 && (await r2.exists(key)) === 0; i++) await new Promise((res) => setTimeout(res, 20));
      assert.equal(await r2.exists(key), 1);
    } finally {
      r2.disconnect();
    }
    const mine = logs.filter((l) => l.includes(String(c.__plugin_id)));
    assert.equal(mine.filter((l) => l.includes('unreachable')).length, 1, mine.join('\n'));
    assert.equal(mine.filter((l) => l.includes('reachable again')).length, 1, mine.join('\n'));
  });
});
