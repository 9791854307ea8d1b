/**
 * Semantic routing through the real stack: the local gateway drives the project's plugin server over its unix
 * socket; embeddings come from a local OpenAI-shaped server with LEXICAL vectors (hashed bag of words: texts are
 * close when they share words, spec/helpers/lexical-embeddings.ts), vectors persist in a real redis-server, and
 * each target is a path on a local chat upstream so the test sees which target answered.
 *
 * Every semantic docs example (spec/fixtures/schemas/docs-examples) routes as its text says; CATCHALL; groups
 * with failover inside the group then to CATCHALL; Kong's 400s; a second plugin server reads the vectors from
 * Redis without calling the embeddings server; Redis stopped mid-run fails no request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { PluginConfig, TargetConfig } from '../../schemas/config';
import { startEngineGateway, type EngineGateway, type EngineRoute } from '../helpers/engine-gateway';
import { chatCompletion, EngineUpstream, openAiChatStream } from '../helpers/engine-upstream';
import { lexicalEmbeddings } from '../helpers/lexical-embeddings';
import { RedisServer } from '../helpers/redis-server';
import { loadDocsExamples } from '../helpers/schema-fixtures';

let emb: EngineUpstream;
let chat: EngineUpstream;
let redis: RedisServer;
let gw: EngineGateway;
let gw2: EngineGateway | undefined;
/** Target paths whose upstream answers 503 (failover tests). */
const failing = new Set<string>();

type Config = Omit<PluginConfig, '__plugin_id'>;

/** A docs example pointed at the local servers: embeddings, Redis, and `/<name>/t<i>` per target. */
function localise(config: unknown, name: string): Config {
  const c = structuredClone(config) as Config & { embeddings: { model: { options?: Record<string, unknown> } }; vectordb: { redis?: Record<string, unknown> } };
  c.embeddings.model.options = { ...(c.embeddings.model.options ?? {}), upstream_url: `${emb.url}/v1/embeddings` };
  c.vectordb.redis = { host: '127.0.0.1', port: redis.port };
  c.targets = c.targets.map((t, i) => ({ ...t, model: { ...t.model, options: { ...(t.model.options ?? {}), upstream_url: `${chat.url}/${name}/t${i}/v1/chat/completions` } } }) as TargetConfig);
  return c;
}

function docsExample(file: string): unknown {
  const ex = loadDocsExamples().find((e) => e.file === file);
  assert.ok(ex, file);
  return ex.config;
}

async function ask(g: EngineGateway, route: string, text: string | undefined, body?: unknown): Promise<{ status: number; target: string | undefined; json: Record<string, unknown> }> {
  const n = chat.requests.length;
  const payload = body ?? { messages: [{ role: 'system', content: 'You are helpful.' }, { role: 'user', content: text }] };
  const r = await fetch(`${g.proxy}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload), signal: AbortSignal.timeout(15_000) });
  const json = (await r.json()) as Record<string, unknown>;
  const answered = chat.requests.slice(n).filter((q) => !failing.has(q.url.replace(/\/v1\/chat\/completions$/, '')));
  return { status: r.status, target: answered.at(-1)?.url.replace(/\/v1\/chat\/completions$/, ''), json };
}

const embeddingInputs = (): string[] => emb.requests.map((q) => String(q.json?.['input']));

function routes(): EngineRoute[] {
  const group: Config = localise(
    {
      balancer: { algorithm: 'semantic', failover_criteria: ['error', 'http_503', 'non_idempotent'], retries: 5 },
      embeddings: { model: { provider: 'openai', name: 'text-embedding-3-small' } },
      vectordb: { strategy: 'redis', distance_metric: 'cosine', threshold: 0.7, dimensions: 256 },
      targets: ['Specialist in billing invoices', 'Specialist in billing invoices', 'CATCHALL'].map((description) => ({
        route_type: 'llm/v1/chat',
        description,
        weight: 50,
        model: { provider: 'openai', name: 'gpt-4o-mini' },
      })),
    },
    'group',
  );
  const strict: Config = localise(
    {
      balancer: { algorithm: 'semantic' },
      embeddings: { model: { provider: 'openai', name: 'text-embedding-3-small' } },
      vectordb: { strategy: 'redis', distance_metric: 'cosine', threshold: 0.5, dimensions: 256 },
      targets: [{ route_type: 'llm/v1/chat', description: 'Specialist in weather forecasts', model: { provider: 'openai', name: 'gpt-4o-mini' } }],
    },
    'strict',
  );
  return [
    { path: '/semantic', config: localise(docsExample('semantic.yaml'), 'semantic') },
    { path: '/valkey', config: localise(docsExample('semantic-valkey.yaml'), 'valkey') },
    { path: '/fallback', config: localise(docsExample('semantic-with-fallback.yaml'), 'fallback') },
    { path: '/group', config: group },
    { path: '/strict', config: strict },
  ];
}

before(async () => {
  [emb, chat, redis] = await Promise.all([EngineUpstream.start(lexicalEmbeddings()), EngineUpstream.start(), RedisServer.start()]);
  chat.set((req) => {
    if (failing.has(req.url.replace(/\/v1\/chat\/completions$/, ''))) return { kind: 'json', status: 503, body: { error: { message: 'overloaded' } } };
    if (req.json?.['stream'] === true) return { kind: 'stream', frames: openAiChatStream(String(req.json['model']), ['Hello', ' there']), contentType: 'text/event-stream' };
    return { kind: 'json', body: chatCompletion(String(req.json?.['model'] ?? 'x')) };
  });
  gw = await startEngineGateway(routes());
});

after(async () => {
  await gw?.close();
  await gw2?.close();
  await redis.stop();
  await Promise.all([emb.close(), chat.close()]);
});

describe('semantic routing through the gateway and the plugin server', () => {
  for (const [file, route] of [['semantic.yaml', '/semantic'], ['semantic-valkey.yaml', '/valkey']] as const) {
    test(`${file}: code completions → gpt-3.5-turbo, IT support → gpt-4o, anything else → CATCHALL gpt-4o-mini`, async () => {
      const name = route.slice(1);
      const code = await ask(gw, route, 'Give me code completions for this TypeScript function');
      assert.equal(code.status, 200, JSON.stringify(code.json));
      assert.equal(code.target, `/${name}/t0`);
      assert.equal((code.json as { model?: string }).model, 'gpt-3.5-turbo');
      const it = await ask(gw, route, 'I need IT support: my requests to the printer fail');
      assert.equal(it.target, `/${name}/t1`);
      const other = await ask(gw, route, 'Write a poem about autumn leaves');
      assert.equal(other.status, 200);
      assert.equal(other.target, `/${name}/t2`);
    });
  }

  test('semantic-with-fallback.yaml: programming → the 75/25 group, real life → its target; a failing group member fails over to the other', async () => {
    const seen = new Set<string | undefined>();
    for (let i = 0; i < 12; i++) {
      const r = await ask(gw, '/fallback', `Help with programming problems number ${i}`);
      assert.equal(r.status, 200);
      seen.add(r.target);
    }
    assert.ok([...seen].every((t) => t === '/fallback/t1' || t === '/fallback/t2'), [...seen].join(','));
    assert.ok(seen.has('/fallback/t1'), 'weight 75 target never picked in 12 tries');
    const life = await ask(gw, '/fallback', 'Advice on real life topics like moving house');
    assert.equal(life.target, '/fallback/t0');
    failing.add('/fallback/t1');
    try {
      for (let i = 0; i < 4; i++) {
        const r = await ask(gw, '/fallback', `programming problems with pointers ${i}`);
        assert.equal(r.status, 200, JSON.stringify(r.json));
        assert.equal(r.target, '/fallback/t2');
      }
    } finally {
      failing.delete('/fallback/t1');
    }
  });

  test('streamed requests are routed the same way', async () => {
    const n = chat.requests.length;
    const r = await fetch(`${gw.proxy}/semantic`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ stream: true, messages: [{ role: 'user', content: 'I need IT support with my account' }] }),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await r.text();
    assert.equal(r.status, 200, text);
    assert.match(text, /Hello/);
    assert.equal(chat.requests.slice(n).at(-1)?.url, '/semantic/t1/v1/chat/completions');
    const bad = await fetch(`${gw.proxy}/semantic`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ stream: true, messages: [{ role: 'assistant', content: 'x' }] }) });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /no user message found in the request/);
  });

  test('failover walks the matched group, then CATCHALL', async () => {
    failing.add('/group/t0');
    failing.add('/group/t1');
    try {
      const r = await ask(gw, '/group', 'question about billing invoices');
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(r.target, '/group/t2');
      const tried = chat.requests.slice(-3).map((q) => q.url.replace(/\/v1\/chat\/completions$/, ''));
      assert.deepEqual([...tried].sort(), ['/group/t0', '/group/t1', '/group/t2']);
    } finally {
      failing.clear();
    }
  });

  test("no match and no CATCHALL: Kong's 500 naming the threshold", async () => {
    const r = await ask(gw, '/strict', 'Tell me about dragons');
    assert.equal(r.status, 500);
    assert.match(String((r.json as { error?: { message?: string } }).error?.message), /vectordb\.threshold 0\.5/);
    assert.equal((await ask(gw, '/strict', 'weather forecasts for tomorrow')).status, 200);
  });

  test("bad input gets Kong's 400s", async () => {
    const noUser = await ask(gw, '/semantic', undefined, { messages: [{ role: 'system', content: 'x' }] });
    assert.equal(noUser.status, 400);
    assert.match(JSON.stringify(noUser.json), /no user message found in the request/);
    const notChat = await ask(gw, '/semantic', undefined, { prompt: 'x' });
    assert.equal(notChat.status, 400);
    const r = await fetch(`${gw.proxy}/semantic`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    assert.equal(r.status, 400);
  });

  test('a second plugin server reads the vectors (descriptions and prompts) from Redis without calling the embeddings server', async () => {
    const prompt = 'Give me code completions for this TypeScript function';
    // Each route with a prompt it serves (/fallback has no CATCHALL); /strict refuses everything on purpose.
    const all: Array<[string, string]> = [
      ['/semantic', prompt],
      ['/valkey', prompt],
      ['/fallback', 'Help with programming problems number 0'],
      ['/group', 'question about billing invoices'],
    ];
    for (const [route, text] of all) assert.equal((await ask(gw, route, text)).status, 200, route);
    const before = emb.requests.length;
    gw2 = await startEngineGateway(routes());
    const r = await ask(gw2, '/semantic', prompt);
    assert.equal(r.status, 200);
    assert.equal(r.target, '/semantic/t0');
    // Every route's router answers only once all its description vectors are read (router.ts waitReady), and an
    // embeddings call for a missing one happens before that: once all four have answered, nothing may have been
    // embedded. No wall-clock wait.
    for (const [route, text] of all.slice(1)) assert.equal((await ask(gw2, route, text)).status, 200, route);
    assert.deepEqual(embeddingInputs().slice(before), []);
  });

  test('Redis stopped mid-run: no request fails', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 24; i++) {
      if (i === 6) await redis.stop();
      if (i === 18) await redis.startProcess();
      const r = await ask(gw, '/semantic', i % 2 === 0 ? `code completions request ${i}` : `IT support request ${i}`);
      statuses.push(r.status);
      assert.equal(r.target, i % 2 === 0 ? '/semantic/t0' : '/semantic/t1', `request ${i}`);
    }
    assert.deepEqual(statuses, new Array(24).fill(200));
  });
});
