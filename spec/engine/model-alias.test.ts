/**
 * `targets[].model.model_alias` (3.14) through the real stack: the local gateway, the project's plugin server
 * over its unix socket, local OpenAI-style upstreams. Pins docs/model-alias.md: the body's `model` selects the
 * targets with that alias, the balancer and failover stay among them, `model.name` goes upstream, an unknown
 * alias is Kong's 400 `model not configured`, targets without an alias keep the pre-3.14 rules.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { TargetConfig } from '../../schemas/config';
import { startEngineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { defaultBehaviour, EngineUpstream, openAiChatStream } from '../helpers/engine-upstream';

let a: EngineUpstream;
let b: EngineUpstream;
let c: EngineUpstream;
let gw: EngineGateway;

function target(url: string, name: string, alias: string | undefined, extra: Partial<TargetConfig> = {}): TargetConfig {
  return {
    route_type: 'llm/v1/chat',
    model: { provider: 'openai', name, ...(alias === undefined ? {} : { model_alias: alias }), options: { upstream_url: `${url}/v1/chat/completions` } },
    auth: { header_name: 'Authorization', header_value: 'Bearer sk-test' },
    ...extra,
  };
}

async function post(path: string, body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown>; headers: Headers; text: string }> {
  const r = await fetch(`${gw.proxy}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'What is 1 + 1?' }], ...body }),
  });
  const text = await r.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // a stream
  }
  return { status: r.status, json, headers: r.headers, text };
}

const counts = (): number[] => [a, b, c].map((u) => u.requests.length);
const upstreamModels = (u: EngineUpstream): unknown[] => u.requests.map((r) => r.json?.model);

before(async () => {
  [a, b, c] = await Promise.all([EngineUpstream.start(), EngineUpstream.start(), EngineUpstream.start()]);
  gw = await startEngineGateway([
    // docs-examples/model-alias-routing.yaml
    { path: '/alias', config: { targets: [target(a.url, 'gpt-4o', 'powerful'), target(b.url, 'gpt-4o-mini', 'fast')] } },
    { path: '/shared', config: { targets: [target(a.url, 'm-a', 'auto'), target(b.url, 'm-b', 'auto'), target(c.url, 'm-c', 'other')] } },
    {
      path: '/failover',
      config: {
        // C has the highest priority, but another alias: a request for `auto` never reaches it, even failing over.
        targets: [target(c.url, 'm-c', 'other', { weight: 100 }), target(a.url, 'm-a', 'auto', { weight: 50 }), target(b.url, 'm-b', 'auto', { weight: 10 })],
        balancer: { algorithm: 'priority', failover_criteria: ['http_500', 'non_idempotent'] },
      },
    },
    { path: '/mixed', config: { targets: [target(a.url, 'gpt-4o-mini', 'fast'), target(b.url, 'gpt-4o', undefined)] } },
    { path: '/noname', config: { targets: [{ ...target(a.url, 'x', 'passthrough-alias'), model: { provider: 'openai', model_alias: 'passthrough-alias', options: { upstream_url: `${a.url}/v1/chat/completions` } } }] } },
    { path: '/limited', config: { targets: [target(a.url, 'm-a', 'x'), target(b.url, 'm-b', 'y')] } },
    { path: '/preserve', config: { targets: [{ ...target(a.url, 'real-model', 'nick'), route_type: 'preserve' }] } },
  ]);
});
after(async () => {
  await gw?.close();
  await Promise.all([a, b, c].map((u) => u?.close()));
});
beforeEach(() => {
  for (const u of [a, b, c]) {
    u.requests.length = 0;
    u.set(defaultBehaviour);
  }
});

describe('model_alias', () => {
  test('the alias in the body picks its target, and the target model.name goes upstream (Kong how-to: route requests by model alias)', async () => {
    const powerful = await post('/alias', { model: 'powerful' });
    assert.equal(powerful.status, 200);
    assert.deepEqual(upstreamModels(a), ['gpt-4o']);
    assert.equal(b.requests.length, 0);
    assert.equal(powerful.json.model, 'gpt-4o', 'the provider answers with the model it ran');
    assert.equal(powerful.headers.get('x-kong-llm-model'), 'openai/gpt-4o');

    const fast = await post('/alias', { model: 'fast' });
    assert.equal(fast.status, 200);
    assert.deepEqual(upstreamModels(b), ['gpt-4o-mini']);
    assert.equal(a.requests.length, 1);
  });

  test("a model that is no target's alias is Kong's 400 `model not configured`, and no provider is called", async () => {
    for (const model of ['slow', 'gpt-4o', 'POWERFUL']) {
      const r = await post('/alias', { model });
      assert.equal(r.status, 400, model);
      assert.deepEqual(r.json, { error: { message: 'model not configured' } });
      assert.equal(r.headers.get('x-ai-proxy-error-code'), 'AIPA_ERR_INVALID_REQUEST');
    }
    assert.deepEqual(counts(), [0, 0, 0]);
  });

  test('a request without a model may use any target, each with its own model.name', async () => {
    for (let i = 0; i < 4; i++) assert.equal((await post('/alias', {})).status, 200);
    assert.deepEqual(upstreamModels(a), ['gpt-4o', 'gpt-4o']);
    assert.deepEqual(upstreamModels(b), ['gpt-4o-mini', 'gpt-4o-mini']);
  });

  test('targets sharing an alias are balanced by the algorithm (round-robin); a target with another alias gets nothing', async () => {
    for (let i = 0; i < 6; i++) assert.equal((await post('/shared', { model: 'auto' })).status, 200);
    assert.deepEqual(counts(), [3, 3, 0]);
    assert.equal((await post('/shared', { model: 'other' })).status, 200);
    assert.deepEqual(upstreamModels(c), ['m-c']);
  });

  test('failover stays among the targets of the alias, in priority order', async () => {
    a.set({ kind: 'json', status: 500, body: { error: { message: 'down' } } });
    const r = await post('/failover', { model: 'auto' });
    assert.equal(r.status, 200);
    assert.deepEqual(upstreamModels(a), ['m-a']);
    assert.deepEqual(upstreamModels(b), ['m-b']);
    assert.equal(c.requests.length, 0, 'the higher-priority target of another alias is never tried');
    b.set({ kind: 'json', status: 500, body: { error: { message: 'down too' } } });
    const exhausted = await post('/failover', { model: 'auto' });
    assert.equal(exhausted.status, 500, "the last alias target's answer, not another alias's target");
    assert.equal(c.requests.length, 0);
  });

  test('targets without an alias take the models no alias claims, with own-model enforcement as before 3.14', async () => {
    assert.equal((await post('/mixed', { model: 'fast' })).status, 200);
    assert.deepEqual(upstreamModels(a), ['gpt-4o-mini']);
    assert.equal((await post('/mixed', { model: 'gpt-4o' })).status, 200);
    assert.deepEqual(upstreamModels(b), ['gpt-4o']);
    const other = await post('/mixed', { model: 'gpt-5' });
    assert.equal(other.status, 400);
    assert.deepEqual(other.json, { error: { message: 'cannot use own model - must be: gpt-4o' } });
    assert.equal(a.requests.length + b.requests.length, 2);
  });

  test('a streamed request honours the alias (the stream endpoint picks among the same targets)', async () => {
    b.set((req) => ({ kind: 'stream', frames: openAiChatStream(String(req.json?.model), ['two']), contentType: 'text/event-stream' }));
    for (let i = 0; i < 3; i++) {
      const r = await post('/alias', { model: 'fast', stream: true });
      assert.equal(r.status, 200);
      assert.match(r.text, /data: \[DONE\]/);
    }
    assert.equal(a.requests.length, 0);
    assert.deepEqual(upstreamModels(b), ['gpt-4o-mini', 'gpt-4o-mini', 'gpt-4o-mini']);
  });

  test("the alias's only target held back by Retry-After is a 429, even though a target of another alias is free", async () => {
    a.set({ kind: 'json', status: 429, body: { error: { message: 'slow down' } }, headers: { 'retry-after': '30' } });
    const first = await post('/limited', { model: 'x' });
    assert.equal(first.status, 429, "the provider's own answer");
    const second = await post('/limited', { model: 'x' });
    assert.equal(second.status, 429);
    assert.equal(second.headers.get('x-ai-proxy-error-code'), 'AIPA_ERR_RATE_LIMITED');
    assert.ok(Number(second.headers.get('retry-after')) > 0);
    assert.deepEqual(counts(), [1, 0, 0]);
  });

  test('an alias on a target without model.name passes the alias on as the model', async () => {
    assert.equal((await post('/noname', { model: 'passthrough-alias' })).status, 200);
    assert.deepEqual(upstreamModels(a), ['passthrough-alias']);
    assert.equal((await post('/noname', { model: 'else' })).status, 400);
  });

  test('a passthrough (preserve) body that names the alias goes upstream with model.name, not the alias', async () => {
    const r = await post('/preserve', { model: 'nick', extra: { kept: true } });
    assert.equal(r.status, 200);
    assert.equal(a.requests.length, 1);
    assert.equal(a.requests[0]?.json?.model, 'real-model');
    assert.deepEqual(a.requests[0]?.json?.extra, { kept: true }, 'the rest of the body is the client’s');
  });
});
