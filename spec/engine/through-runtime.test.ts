/**
 * The engine through the real plugin server: requests reach the compiled plugin over a unix socket with Kong's
 * RPC loop (spec/helpers/engine-kong-front), and the plugin calls real local OpenAI-style upstreams.
 * Balancing behaviour is checked end to end here: traffic shares, hashing, priority, lowest latency.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import type { BalancerConfig, TargetConfig } from '../../schemas/config';
import { EngineKongFront } from '../helpers/engine-kong-front';
import { chatCompletion, defaultBehaviour, EngineUpstream, refusedUrl } from '../helpers/engine-upstream';

let ups: EngineUpstream[] = [];
let front: EngineKongFront;
const body = JSON.stringify({ messages: [{ role: 'user', content: 'What is 1 + 1?' }] });

function target(u: EngineUpstream | string, weight: number, extra: Partial<TargetConfig> = {}): TargetConfig {
  const url = typeof u === 'string' ? u : u.url;
  return {
    route_type: 'llm/v1/chat',
    weight,
    model: { provider: 'openai', name: 'gpt-4o-mini', options: { upstream_url: `${url}/v1/chat/completions` } },
    auth: { header_name: 'Authorization', header_value: 'Bearer sk-front-test' },
    ...extra,
  };
}

async function configure(targets: TargetConfig[], balancer: BalancerConfig = {}, more: Record<string, unknown> = {}): Promise<void> {
  await front.configure({ __plugin_id: randomUUID(), __seq__: 1, targets, balancer, ...more });
}

async function post(headers: Record<string, string> = {}, payload = body): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const r = await fetch(`${front.url}/chat`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload });
  return { status: r.status, json: (await r.json()) as Record<string, unknown>, headers: r.headers };
}

function counts(): number[] {
  return ups.map((u) => u.requests.length);
}

before(async () => {
  ups = await Promise.all([EngineUpstream.start(), EngineUpstream.start(), EngineUpstream.start()]);
  front = await EngineKongFront.start({ targets: [target(ups[0] as EngineUpstream, 100)] });
});
after(async () => {
  await front.close();
  await Promise.all(ups.map((u) => u.close()));
});
beforeEach(() => {
  for (const u of ups) {
    u.requests.length = 0;
    u.set(defaultBehaviour);
  }
  front.logs.length = 0;
});

describe('through the plugin server', () => {
  test('a chat request is proxied with four PDK calls, the model header and the upstream body', async () => {
    await configure([target(ups[0] as EngineUpstream, 100)]);
    const r = await post();
    assert.equal(r.status, 200);
    assert.equal(r.json.object, 'chat.completion');
    assert.equal(r.headers.get('x-kong-llm-model'), 'openai/gpt-4o-mini');
    assert.deepEqual(front.logs[0]?.pdkCalls, ['kong.request.get_raw_body', 'kong.request.get_headers', 'kong.request.get_path_with_query', 'kong.response.exit']);
  });

  test('weights 70/25/5 give traffic shares within a few percent', async () => {
    const [a, b, c] = ups as [EngineUpstream, EngineUpstream, EngineUpstream];
    await configure([target(a, 70), target(b, 25), target(c, 5)]);
    const n = 400;
    for (let i = 0; i < n; i++) assert.equal((await post()).status, 200);
    const [ca, cb, cc] = counts() as [number, number, number];
    assert.ok(Math.abs(ca / n - 0.7) < 0.03, `a got ${ca}`);
    assert.ok(Math.abs(cb / n - 0.25) < 0.03, `b got ${cb}`);
    assert.ok(Math.abs(cc / n - 0.05) < 0.03, `c got ${cc}`);
  });

  test('consistent-hashing sends the same header value to the same target every time', async () => {
    await configure(ups.map((u) => target(u, 100)), { algorithm: 'consistent-hashing', hash_on_header: 'X-User' });
    const seen = new Map<string, number>();
    for (let k = 0; k < 12; k++) {
      for (let i = 0; i < 5; i++) {
        const before = counts();
        await post({ 'X-User': `user-${k}` });
        const idx = counts().findIndex((c, j) => c !== before[j]);
        const prev = seen.get(`user-${k}`);
        if (prev === undefined) seen.set(`user-${k}`, idx);
        else assert.equal(idx, prev, `user-${k} moved`);
      }
    }
    assert.ok(new Set(seen.values()).size > 1, 'keys spread over more than one target');
  });

  test('priority keeps to the highest group and moves to the next only when it fails', async () => {
    const [a, b, c] = ups as [EngineUpstream, EngineUpstream, EngineUpstream];
    await configure([target(a, 90), target(b, 90), target(c, 10)], { algorithm: 'priority', failover_criteria: ['http_500', 'non_idempotent'] });
    for (let i = 0; i < 20; i++) await post();
    assert.equal(c.requests.length, 0);
    assert.equal(a.requests.length + b.requests.length, 20);
    a.set({ kind: 'json', status: 500, body: { error: 'a' } });
    b.set({ kind: 'json', status: 500, body: { error: 'b' } });
    const r = await post();
    assert.equal(r.status, 200);
    assert.equal(c.requests.length, 1);
  });

  test('lowest-latency learns to prefer the fast target', async () => {
    const [slow, fast] = ups as [EngineUpstream, EngineUpstream];
    slow.set((r) => ({ kind: 'json', body: chatCompletion(String(r.json?.model)), delayMs: 40 }));
    await configure([target(slow, 100), target(fast, 100)], { algorithm: 'lowest-latency', latency_strategy: 'e2e' });
    for (let i = 0; i < 60; i++) await post();
    assert.ok(fast.requests.length > 45, `fast got ${fast.requests.length} of 60`);
    assert.ok(slow.requests.length >= 1, 'the slow target was probed');
  });

  test('a refused target fails over and analytics record both attempts in Kong shape', async () => {
    const dead = await refusedUrl();
    const t1 = target(dead, 100, { logging: { log_statistics: true } });
    const t2 = target(ups[1] as EngineUpstream, 50, { logging: { log_statistics: true } });
    await configure([t1, t2], { algorithm: 'priority' });
    const r = await post();
    assert.equal(r.status, 200);
    const log = front.logs[0];
    const meta = log?.serialized.get('ai.proxy.meta') as Record<string, unknown>;
    assert.equal(meta.provider_name, 'openai');
    assert.equal(meta.request_model, 'gpt-4o-mini');
    const usage = log?.serialized.get('ai.proxy.usage') as Record<string, unknown>;
    assert.deepEqual([usage.prompt_tokens, usage.completion_tokens, usage.total_tokens], [25, 12, 37]);
    const tried = log?.serialized.get('ai.proxy.tried_targets') as Array<Record<string, unknown>>;
    assert.deepEqual(tried.map((t) => t.port), [Number(new URL(dead).port), (ups[1] as EngineUpstream).port]);
    assert.ok(!JSON.stringify([...(log?.serialized ?? [])]).includes('sk-front-test'));
  });

  test('bad bodies get OpenAI-style 400 errors over the real protocol', async () => {
    await configure([target(ups[0] as EngineUpstream, 100)]);
    const bad = await post({}, '{"messages": [}');
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json, { error: { message: 'content-type header does not match request body, or bad JSON formatting', type: 'invalid_request_error' } });
    const own = await post({}, JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'x' }] }));
    assert.deepEqual(own.json, { error: { message: 'cannot use own model - must be: gpt-4o-mini', type: 'invalid_request_error' } });
    assert.equal((ups[0] as EngineUpstream).requests.length, 0);
  });

  test('the openai SDK works against the plugin server', async () => {
    await configure([target(ups[0] as EngineUpstream, 100)]);
    const client = new OpenAI({ apiKey: 'sk-ignored', baseURL: `${front.url}/v1`, maxRetries: 0 });
    const c = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(c.choices[0]?.message.content, 'The sum of 1 + 1 is 2.');
  });
});
