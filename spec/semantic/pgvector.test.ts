/**
 * `vectordb.strategy: pgvector` against a real pgvector (PGlite + its pgvector extension, served to `pg` over
 * TCP by pglite-socket): the table per namespace with vector(dimensions) and an hnsw index, the store's own
 * nearest search (`<=>` cosine distance, `<->` plain Euclidean) agreeing with the in-process one, and an
 * outage that fails no routing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FilledConfig, PluginConfig, TargetConfig } from '../../schemas/config';
import { closeSemanticRouters, configureSemantic, prepareSemanticPick, semanticRouterFor } from '../../plugins/ai-proxy-advanced/semantic';
import { PgvectorStore, tableName } from '../../plugins/ai-proxy-advanced/semantic/store/pgvector';
import { cosineDistance, euclidean, sha256hex } from '../../plugins/ai-proxy-advanced/semantic/vector';
import { defaultAttemptDeps } from '../../plugins/ai-proxy-advanced/engine/defaults';
import { filledPgvector, validConfig } from '../helpers/filled-config';
import { EngineUpstream } from '../helpers/engine-upstream';
import { lexicalEmbeddings, lexicalVector } from '../helpers/lexical-embeddings';
import { PgvectorServer } from '../helpers/pgvector-server';

const DIMS = 32;
const SIGN = defaultAttemptDeps.signDeps;
let emb: EngineUpstream;
let pg: PgvectorServer;
const logs: string[] = [];

function target(description: string): TargetConfig {
  return { route_type: 'llm/v1/chat', weight: 100, description, model: { provider: 'openai', name: 'gpt-4o' } } as TargetConfig;
}

function config(id: string, metric: 'cosine' | 'euclidean', threshold: number): FilledConfig {
  return validConfig({
    __plugin_id: id,
    targets: [target('Specialist in code completions'), target('Requests related to IT support'), target('CATCHALL')],
    balancer: { algorithm: 'semantic' },
    embeddings: { model: { provider: 'openai', name: 'text-embedding-3-small', options: { upstream_url: `${emb.url}/v1/embeddings` } } },
    vectordb: {
      strategy: 'pgvector',
      distance_metric: metric,
      threshold,
      dimensions: DIMS,
      pgvector: { host: '127.0.0.1', port: pg.port, database: 'postgres', user: 'postgres', timeout: 3000 },
    },
  } as unknown as PluginConfig);
}
const ask = (text: string) => ({ messages: [{ role: 'user', content: text }] });

before(async () => {
  [emb, pg] = await Promise.all([EngineUpstream.start(lexicalEmbeddings(DIMS)), PgvectorServer.start()]);
  configureSemantic({ log: (m) => logs.push(m) });
});

after(async () => {
  await closeSemanticRouters();
  await pg.close();
  await emb.close();
});

describe('semantic routing with pgvector', () => {
  test('a table per namespace with vector(dimensions) and an hnsw index holds the description vectors', async () => {
    const c = config('11111111-2222-3333-4444-555555555555', 'cosine', 0.7);
    assert.deepEqual((await prepareSemanticPick(c, ask('code completions please'), SIGN))?.groups, [[0], [2]]);
    const table = tableName(c.__plugin_id!, DIMS);
    const cols = await pg.db.query<{ t: string }>(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = '"${table}"'::regclass AND attname = 'vector'`);
    assert.equal(cols.rows[0]?.t, `vector(${DIMS})`);
    const idx = await pg.db.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE tablename = '${table}'`);
    assert.ok(idx.rows.some((r) => /USING hnsw \(vector vector_cosine_ops\)/.test(r.indexdef)), JSON.stringify(idx.rows));
    const rows = await pg.db.query<{ id: string; v: string }>(`SELECT id, vector::text AS v FROM "${table}" ORDER BY id`);
    assert.equal(rows.rows.length, 2);
    const code = rows.rows.find((r) => r.id === sha256hex('Specialist in code completions'));
    assert.deepEqual(JSON.parse(code!.v), lexicalVector('Specialist in code completions', DIMS));
  });

  test("the store's <=> and <-> distances agree with the in-process ones (pgvector's <-> is the plain distance)", async () => {
    for (const metric of ['cosine', 'euclidean'] as const) {
      const store = new PgvectorStore(`agree-${metric}`, DIMS, metric, filledPgvector({ host: '127.0.0.1', port: pg.port, database: 'postgres', user: 'postgres', timeout: 3000 }));
      try {
        const descs = ['alpha beta gamma', 'beta delta', 'omega'];
        await store.saveDescriptions(new Map(descs.map((d) => [sha256hex(d), Float32Array.from(lexicalVector(d, DIMS))])));
        const prompt = Float32Array.from(lexicalVector('beta gamma', DIMS));
        const hits = await store.nearest(prompt, descs.map(sha256hex));
        const fn = metric === 'cosine' ? cosineDistance : euclidean;
        const local = descs.map((d) => ({ sha: sha256hex(d), distance: fn(prompt, Float32Array.from(lexicalVector(d, DIMS))) })).sort((a, b) => a.distance - b.distance);
        assert.deepEqual(hits.map((h) => h.sha), local.map((h) => h.sha), metric);
        hits.forEach((h, i) => assert.ok(Math.abs(h.distance - local[i]!.distance) < 1e-5, `${metric}: ${h.distance} vs ${local[i]!.distance}`));
      } finally {
        await store.close();
      }
    }
  });

  test('euclidean thresholds are plain distances with pgvector', async () => {
    // 'code completions helper' vs 'Specialist in code completions': two words apart → plain √2 ≈ 1.41 (RediSearch's
    // squared L2 would say 2, over the threshold).
    const c = config('euclid-plugin', 'euclidean', 1.5);
    assert.deepEqual((await prepareSemanticPick(c, ask('code completions helper'), SIGN))?.groups, [[0], [2]]);
    assert.deepEqual((await prepareSemanticPick(c, ask('code completions helper tests'), SIGN))?.groups, [[2]]);
  });

  test('Postgres unreachable: routing goes on from memory, one log line each way, re-sync on return', async () => {
    const c = config('outage-plugin', 'cosine', 0.7);
    const router = semanticRouterFor(c, SIGN);
    await prepareSemanticPick(c, ask('warm up'), SIGN);
    assert.equal(router.ready, true);
    await pg.stopListening();
    try {
      for (let i = 0; i < 10; i++) assert.deepEqual((await prepareSemanticPick(c, ask(`IT support ticket ${i}`), SIGN))?.groups, [[1], [2]]);
    } finally {
      await pg.listenAgain();
    }
    // The store retries after RETRY_AFTER_MS on the next request.
    for (let i = 0; i < 60 && !logs.some((l) => l.includes('outage-plugin') && l.includes('reachable again')); i++) {
      await prepareSemanticPick(c, ask(`code completions ${i}`), SIGN);
      await new Promise((r) => setTimeout(r, 50));
    }
    const mine = logs.filter((l) => l.includes('outage-plugin'));
    assert.equal(mine.filter((l) => l.includes('unreachable')).length, 1, mine.join('\n'));
    assert.equal(mine.filter((l) => l.includes('reachable again')).length, 1, mine.join('\n'));
  });
});
