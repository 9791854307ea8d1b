/**
 * The engine through the real stack: the local gateway drives the project's plugin server over its unix
 * socket, the plugin calls local OpenAI-style upstreams, and a log-phase probe reads `kong.log.serialize()`
 * as Kong's log plugins would. Balancing behaviour is checked end to end: shares, hashing, priority, lowest
 * latency, failover, circuit breaker, analytics, bad bodies, the openai SDK as a client.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import type { TargetConfig } from '../../schemas/config';
import { eventually } from '../helpers/gateway-harness';
import { startEngineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { chatCompletion, defaultBehaviour, EngineUpstream, openAiChatStream, refusedUrl } from '../helpers/engine-upstream';

const SECRET = 'sk-gateway-SECRET';
let a: EngineUpstream;
let b: EngineUpstream;
let c: EngineUpstream;
let gw: EngineGateway;
const chat = JSON.stringify({ messages: [{ role: 'user', content: 'What is 1 + 1?' }] });

function target(url: string, weight: number, extra: Partial<TargetConfig> = {}): TargetConfig {
  return {
    route_type: 'llm/v1/chat',
    weight,
    model: { provider: 'openai', name: 'gpt-4o-mini', options: { upstream_url: `${url}/v1/chat/completions`, input_cost: 10, output_cost: 10 } },
    auth: { header_name: 'Authorization', header_value: `Bearer ${SECRET}` },
    ...extra,
  };
}

async function post(path: string, headers: Record<string, string> = {}, body = chat): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const r = await fetch(`${gw.proxy}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await r.text();
  return { status: r.status, json: JSON.parse(text) as Record<string, unknown>, headers: r.headers };
}

function which(before: number[]): number {
  return [a, b, c].findIndex((u, i) => u.requests.length !== before[i]);
}
const counts = (): number[] => [a, b, c].map((u) => u.requests.length);

before(async () => {
  [a, b, c] = await Promise.all([EngineUpstream.start(), EngineUpstream.start(), EngineUpstream.start()]);
  const dead = await refusedUrl();
  const stats = { logging: { log_statistics: true, log_payloads: true } };
  gw = await startEngineGateway([
    { path: '/basic', config: { targets: [target(a.url, 100, stats)] } },
    { path: '/weights', config: { targets: [target(a.url, 70), target(b.url, 25), target(c.url, 5)] } },
    { path: '/hash', config: { targets: [target(a.url, 100), target(b.url, 100), target(c.url, 100)], balancer: { algorithm: 'consistent-hashing', hash_on_header: 'X-User' } } },
    { path: '/priority', config: { targets: [target(a.url, 90), target(b.url, 90), target(c.url, 10)], balancer: { algorithm: 'priority', failover_criteria: ['http_500', 'non_idempotent'] } } },
    { path: '/latency', config: { targets: [target(a.url, 100), target(b.url, 100)], balancer: { algorithm: 'lowest-latency', latency_strategy: 'e2e' } } },
    { path: '/failover', config: { targets: [target(dead, 100, stats), target(b.url, 50, stats)], balancer: { algorithm: 'priority' } } },
    { path: '/strict', config: { targets: [target(a.url, 100), target(b.url, 50)], balancer: { algorithm: 'priority' } } },
    {
      path: '/stream-failover',
      config: { targets: [target(a.url, 100), target(b.url, 50)], balancer: { algorithm: 'priority', failover_criteria: ['error', 'timeout', 'non_idempotent'] } },
    },
    { path: '/circuit', config: { targets: [target(a.url, 100), target(b.url, 100)], balancer: { failover_criteria: ['http_500', 'non_idempotent'], max_fails: 1, fail_timeout: 400 } } },
    { path: '/v1', config: { targets: [target(a.url, 100)] } },
    {
      path: '~/models/(?<model>[\\w.-]+)/chat$',
      config: { targets: [{ ...target(a.url, 100), model: { provider: 'openai', name: '$(uri_captures.model)', options: { upstream_url: `${a.url}/v1/chat/completions` } } }] },
    },
    {
      path: '/azure',
      config: {
        targets: [
          {
            route_type: 'llm/v1/chat',
            model: { provider: 'azure', name: 'gpt-4o', options: { azure_instance: 'x', azure_deployment_id: 'dep', azure_api_version: '2024-02-01', upstream_url: `${a.url}/openai/deployments/dep/chat/completions` } },
            auth: { header_name: 'api-key', header_value: SECRET },
          },
        ],
      },
    },
    { path: '/small', config: { targets: [target(a.url, 100)], max_request_body_size: 64 } },
  ]);
});
after(async () => {
  await gw.close();
  await Promise.all([a, b, c].map((u) => u.close()));
});
beforeEach(() => {
  for (const u of [a, b, c]) {
    u.requests.length = 0;
    u.set(defaultBehaviour);
  }
});

describe('ai-proxy-advanced through the local gateway and the plugin server', () => {
  test('a chat request is answered with the upstream body and X-Kong-LLM-Model; analytics reach the log phase in Kong shape', async () => {
    const r = await post('/basic');
    assert.equal(r.status, 200);
    assert.equal(r.json.object, 'chat.completion');
    assert.equal(r.headers.get('x-kong-llm-model'), 'openai/gpt-4o-mini');
    assert.equal(a.requests[0]?.headers.authorization, `Bearer ${SECRET}`);
    const log = await eventually(() => gw.serialized('/basic')[0]);
    const ai = (log.ai as { proxy: Record<string, Record<string, unknown>> }).proxy;
    assert.deepEqual(Object.keys(ai).sort(), ['meta', 'payload', 'tried_targets', 'usage']);
    assert.equal(ai.meta?.provider_name, 'openai');
    assert.equal(ai.meta?.request_model, 'gpt-4o-mini');
    assert.equal(ai.meta?.response_model, 'gpt-4o-mini');
    assert.match(String(ai.meta?.plugin_id), /^[0-9a-f-]{36}$/);
    assert.deepEqual([ai.usage?.prompt_tokens, ai.usage?.completion_tokens, ai.usage?.total_tokens, ai.usage?.cost], [25, 12, 37, 0.00037]);
    assert.match(String(ai.payload?.request), /What is 1 \+ 1\?/);
    assert.ok(!JSON.stringify(log).includes(SECRET), 'the key is nowhere in the log entry');
  });

  test('weights 70/25/5 give traffic shares within a few percent', async () => {
    const n = 400;
    for (let i = 0; i < n; i++) assert.equal((await post('/weights')).status, 200);
    const [ca, cb, cc] = counts() as [number, number, number];
    assert.ok(Math.abs(ca / n - 0.7) < 0.03, `70% target got ${ca}/${n}`);
    assert.ok(Math.abs(cb / n - 0.25) < 0.03, `25% target got ${cb}/${n}`);
    assert.ok(Math.abs(cc / n - 0.05) < 0.03, `5% target got ${cc}/${n}`);
  });

  test('consistent-hashing sends the same header value to the same target every time', async () => {
    const placed = new Map<string, number>();
    for (let k = 0; k < 12; k++) {
      for (let i = 0; i < 4; i++) {
        const before = counts();
        await post('/hash', { 'X-User': `user-${k}` });
        const idx = which(before);
        const prev = placed.get(`user-${k}`);
        if (prev === undefined) placed.set(`user-${k}`, idx);
        else assert.equal(idx, prev, `user-${k} moved`);
      }
    }
    assert.ok(new Set(placed.values()).size > 1, 'keys spread over more than one target');
  });

  test('priority keeps to the highest group and moves to the next only when the group fails', async () => {
    for (let i = 0; i < 20; i++) await post('/priority');
    assert.equal(c.requests.length, 0);
    assert.ok(a.requests.length > 0 && b.requests.length > 0, 'both targets of the top group serve');
    a.set({ kind: 'json', status: 500, body: { error: 'a' } });
    b.set({ kind: 'json', status: 500, body: { error: 'b' } });
    assert.equal((await post('/priority')).status, 200);
    assert.equal(c.requests.length, 1);
  });

  test('lowest-latency learns to prefer the fast target', async () => {
    a.set((r) => ({ kind: 'json', body: chatCompletion(String(r.json?.model)), delayMs: 40 }));
    for (let i = 0; i < 60; i++) await post('/latency');
    assert.ok(b.requests.length > 45, `fast target got ${b.requests.length} of 60`);
    assert.ok(a.requests.length >= 1, 'the slow target was tried');
  });

  test('a refused target fails over; tried_targets lists both attempts', async () => {
    const r = await post('/failover');
    assert.equal(r.status, 200);
    const log = await eventually(() => gw.serialized('/failover')[0]);
    const tried = (log.ai as { proxy: { tried_targets: Array<{ port: number }> } }).proxy.tried_targets;
    assert.equal(tried.length, 2);
    assert.equal(tried[1]?.port, b.port);
  });

  test('without the criterion a provider 500 reaches the client untouched', async () => {
    a.set({ kind: 'json', status: 500, body: { error: { message: 'provider broke' } } });
    const r = await post('/strict');
    assert.equal(r.status, 500);
    assert.deepEqual(r.json, { error: { message: 'provider broke' } });
    assert.equal(b.requests.length, 0);
  });

  test('the circuit opens after max_fails and closes after fail_timeout', async () => {
    a.set({ kind: 'json', status: 500, body: { error: 'down' } });
    for (let i = 0; i < 6; i++) assert.equal((await post('/circuit')).status, 200);
    assert.equal(a.requests.length, 1, 'a was out of rotation after one failure');
    a.set(defaultBehaviour);
    // fail_timeout (400 ms) runs on the plugin server's own clock, in another process: keep sending requests
    // (each an event) until a is picked again, with a deadline, instead of sleeping a fixed time.
    const deadline = Date.now() + 10_000;
    while (a.requests.length < 2 && Date.now() < deadline) {
      assert.equal((await post('/circuit')).status, 200);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(a.requests.length >= 2, 'a came back after fail_timeout');
    for (let i = 0; i < 6; i++) await post('/circuit');
    assert.ok(a.requests.length >= 4, `a stays in rotation once back (${a.requests.length})`);
  });

  test('bad bodies get OpenAI-style 400 errors', async () => {
    const bad = await post('/basic', {}, '{"messages": [}');
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json, { error: { message: 'content-type header does not match request body, or bad JSON formatting' } });
    const own = await post('/basic', {}, JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'x' }] }));
    assert.deepEqual(own.json, { error: { message: 'cannot use own model - must be: gpt-4o-mini' } });
    const empty = await post('/basic', {}, JSON.stringify({ messages: [] }));
    assert.equal((empty.json.error as { message: string }).message, "request body doesn't contain valid prompts");
    assert.equal(a.requests.length, 0);
  });

  test('$(uri_captures.x) in the model name is resolved from the route regex capture', async () => {
    const r = await post('/models/gpt-4.1-nano/chat');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-kong-llm-model'), 'openai/gpt-4.1-nano');
    assert.equal(a.requests[0]?.json?.model, 'gpt-4.1-nano');
  });

  test('azure gets api-key and api-version, the client query winning for api-version', async () => {
    await post('/azure');
    assert.equal(a.requests[0]?.url, '/openai/deployments/dep/chat/completions?api-version=2024-02-01');
    assert.equal(a.requests[0]?.headers['api-key'], SECRET);
    await post('/azure?api-version=2025-03-01-preview');
    assert.equal(a.requests[1]?.url, '/openai/deployments/dep/chat/completions?api-version=2025-03-01-preview');
  });

  test('max_request_body_size refuses a larger body with 413 naming the limit', async () => {
    const r = await post('/small', {}, JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(100) }] }));
    assert.equal(r.status, 413);
    assert.match((r.json.error as { message: string }).message, /max_request_body_size \(64\)/);
    assert.equal(a.requests.length, 0);
  });

  test('the official openai SDK works through the gateway', async () => {
    const client = new OpenAI({ apiKey: 'sk-client', baseURL: `${gw.proxy}/v1`, maxRetries: 0 });
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    assert.equal(data.choices[0]?.message.content, 'The sum of 1 + 1 is 2.');
    assert.equal(response.headers.get('x-kong-llm-model'), 'openai/gpt-4o-mini');
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && /cannot use own model/.test(e.message),
    );
  });

  test('stream: true through Kong: the openai SDK iterates the chunks the plugin relays from the provider', async () => {
    a.set((r) => (r.json?.stream === true ? { kind: 'stream', frames: openAiChatStream('gpt-4o-mini', ['1 ', '+ 1 ', 'is 2.']), gapMs: 5 } : defaultBehaviour(r)));
    const client = new OpenAI({ apiKey: 'sk-client', baseURL: `${gw.proxy}/v1`, maxRetries: 0 });
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'What is 1 + 1?' }], stream: true, stream_options: { include_usage: true } })
      .withResponse();
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-kong-llm-model'), 'openai/gpt-4o-mini');
    assert.match(response.headers.get('via') ?? '', /kong/, 'Kong proxied the stream itself');
    assert.equal(response.headers.get('x-accel-buffering'), null, "nginx's proxy_hide_header keeps X-Accel-* from the client");
    let text = '';
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, '1 + 1 is 2.');
    assert.deepEqual(usage, { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 });
    const seen = a.requests.at(-1);
    assert.equal(seen?.json?.stream, true);
    assert.equal(seen?.headers.authorization, `Bearer ${SECRET}`, 'the plugin, not Kong, called the provider with the key');
  });
});

/**
 * Issue 11: a stream fails over until the provider's first event has been read and translated. Kong's client
 * must never see a head (or a cut connection) for an attempt that produced nothing.
 */
describe('streams fail over until the first event, through the gateway and the plugin server', () => {
  const streamBody = JSON.stringify({ messages: [{ role: 'user', content: 'What is 1 + 1?' }], stream: true });
  const works = (r: Parameters<typeof defaultBehaviour>[0]) =>
    r.json?.stream === true ? ({ kind: 'stream', frames: openAiChatStream('gpt-4o-mini', ['from ', 'b']) } as const) : defaultBehaviour(r);

  async function stream(path: string): Promise<{ status: number; text: string; headers: Headers }> {
    const r = await fetch(`${gw.proxy}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: streamBody });
    return { status: r.status, text: await r.text(), headers: r.headers };
  }

  test('a provider that resets right after its head is failed over; the client gets the next target\'s whole stream', async () => {
    a.set({ kind: 'stream', frames: [], resetAfter: true });
    b.set(works);
    const r = await stream('/stream-failover');
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.match(r.text, /"content":"from "/);
    assert.match(r.text, /data: \[DONE\]\n\n$/);
    assert.equal(a.requests.length, 1);
    assert.equal(b.requests.length, 1);
  });

  test('a provider that sends bytes that are no event and then resets is failed over too', async () => {
    a.set({ kind: 'stream', frames: [': keep-alive comment, not an event\n\n', 'event: ping\n'], resetAfter: true });
    b.set(works);
    const r = await stream('/stream-failover');
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /"content":"b"/);
    assert.equal(b.requests.length, 1);
  });

  test('without non_idempotent the POST is not retried, and the client gets a clean 502 with its code, not a cut stream', async () => {
    a.set({ kind: 'stream', frames: [], resetAfter: true });
    b.set(works);
    const r = await stream('/strict');
    assert.equal(r.status, 502);
    assert.deepEqual(JSON.parse(r.text), { message: 'An invalid response was received from the upstream server' });
    assert.equal(r.headers.get('x-ai-proxy-error-code'), 'AIPA_ERR_UPSTREAM');
    assert.equal(b.requests.length, 0);
  });

  test('a stream that breaks after its first event still reaches the client as a cut stream (nothing to fail over to)', async () => {
    a.set({ kind: 'stream', frames: openAiChatStream('gpt-4o-mini', ['half']).slice(0, 1), resetAfter: true });
    b.set(works);
    const r = await fetch(`${gw.proxy}/stream-failover`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: streamBody });
    assert.equal(r.status, 200);
    await assert.rejects(r.text());
    assert.equal(b.requests.length, 0);
  });
});
