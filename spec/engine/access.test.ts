/**
 * The plugin's access() end to end at unit level: a PDK object shaped like Kong's bridge (spec/helpers/engine-pdk)
 * and real local OpenAI-style upstreams over HTTP (spec/helpers/engine-upstream). Balancing is the test
 * round-robin from spec/helpers/engine-balancer until the real balancers are merged.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { FailoverCriterion, PluginConfig, TargetConfig } from '../../schemas/config';
import { AiProxyAdvanced } from '../../plugins/ai-proxy-advanced/handler';
import { closeUpstreamAgents, type UpstreamCaller } from '../../plugins/ai-proxy-advanced/engine/upstream';
import { defaultAttemptDeps } from '../../plugins/ai-proxy-advanced/engine/defaults';
import { FakePdk, type FakeClientRequest } from '../helpers/engine-pdk';
import { balancerStateFor } from '../../plugins/ai-proxy-advanced/balancer';
import { validateConfig } from '../../schemas';
import { EngineUpstream, refusedUrl, chatCompletion, openAiChatStream } from '../helpers/engine-upstream';
import { closeStreamEndpoint } from '../../plugins/ai-proxy-advanced/engine/stream-endpoint';
import { readFixture } from '../helpers/providers-fixtures';
import type { BalancerSource } from '../../plugins/ai-proxy-advanced/engine/runtime';
import { fakeClock } from '../helpers/balancer-random';

const SECRET = 'sk-test-SECRET-never-logged';
const chatBody = { messages: [{ role: 'user', content: 'What is 1 + 1?' }] };

let a: EngineUpstream;
let b: EngineUpstream;
let refused: string;

before(async () => {
  a = await EngineUpstream.start();
  b = await EngineUpstream.start();
  refused = await refusedUrl();
});
after(async () => {
  await a.close();
  await b.close();
  await closeUpstreamAgents();
  await closeStreamEndpoint();
});
beforeEach(() => {
  for (const u of [a, b]) {
    u.requests.length = 0;
    u.set((r) => ({ kind: 'json', body: chatCompletion(typeof r.json?.model === 'string' ? r.json.model : '?') }));
  }
});

function target(url: string, over: Partial<TargetConfig> = {}, name = 'gpt-3.5-turbo'): TargetConfig {
  return {
    route_type: 'llm/v1/chat',
    model: { provider: 'openai', name, options: { upstream_url: `${url}/v1/chat/completions` } },
    auth: { header_name: 'Authorization', header_value: `Bearer ${SECRET}` },
    ...over,
  };
}

function plugin(config: Omit<PluginConfig, '__plugin_id'> & { __plugin_id?: string }): { p: AiProxyAdvanced; id: string } {
  const id = config.__plugin_id ?? randomUUID();
  return { p: new AiProxyAdvanced({ ...config, __plugin_id: id }), id };
}

async function run(p: AiProxyAdvanced, req: FakeClientRequest = { body: chatBody }): Promise<FakePdk> {
  const kong = new FakePdk(req);
  await p.access(kong);
  assert.ok(kong.exited, 'the plugin answered with kong.response.exit');
  return kong;
}

/** Priority balancing over targets of falling weight: the first URL is always tried first. */
function failover(...criteria: FailoverCriterion[]) {
  return { algorithm: 'priority' as const, failover_criteria: criteria, read_timeout: 400, connect_timeout: 400 };
}

function ordered(...urls: string[]): TargetConfig[] {
  return urls.map((u, i) => target(u, { weight: 1000 - i }));
}

describe('a successful chat request', () => {
  test('is answered with the upstream body, X-Kong-LLM-Model, and only four PDK calls', async () => {
    const { p } = plugin({ targets: [target(a.url)] });
    const kong = await run(p);
    assert.equal(kong.exited?.status, 200);
    assert.equal(kong.json.id, 'chatcmpl-8T6YwgvjQVVnGbJ2w8hpOA17SeNy2');
    assert.equal(kong.exited?.headers['x-kong-llm-model'], 'openai/gpt-3.5-turbo');
    assert.match(kong.exited?.headers['content-type'] ?? '', /application\/json/);
    assert.deepEqual(kong.calls, ['kong.request.get_headers', 'kong.request.get_raw_body', 'kong.request.get_path_with_query', 'kong.response.exit']);
    const got = a.requests[0];
    assert.equal(got?.url, '/v1/chat/completions');
    assert.equal(got?.headers.authorization, `Bearer ${SECRET}`);
    assert.equal(got?.headers['accept-encoding'], 'identity');
    assert.deepEqual(got?.json, { ...chatBody, model: 'gpt-3.5-turbo', stream: false });
  });

  test('model_name_header false drops the header; Kong-Debug brings it back', async () => {
    const { p } = plugin({ targets: [target(a.url)], model_name_header: false });
    assert.equal((await run(p)).exited?.headers['x-kong-llm-model'], undefined);
    assert.equal((await run(p, { body: chatBody, headers: { 'Kong-Debug': '1' } })).exited?.headers['x-kong-llm-model'], 'openai/gpt-3.5-turbo');
  });

  test('forwards client headers and query string, never hop-by-hop ones', async () => {
    const { p } = plugin({ targets: [target(a.url)] });
    await run(p, { body: chatBody, path: '/chat?trace=1', headers: { 'OpenAI-Organization': 'org-1', Connection: 'keep-alive', Host: 'client.example' } });
    const got = a.requests[0];
    assert.equal(got?.headers['openai-organization'], 'org-1');
    assert.equal(got?.url, '/v1/chat/completions?trace=1');
    assert.equal(got?.headers.host, `127.0.0.1:${a.port}`);
  });

  test('a templated model is resolved from the request and enforced', async () => {
    const { p } = plugin({ targets: [target(a.url, {}, '$(headers.x-model)')] });
    const ok = await run(p, { body: chatBody, headers: { 'x-model': 'gpt-4o' } });
    assert.equal(ok.exited?.headers['x-kong-llm-model'], 'openai/gpt-4o');
    const missing = await run(p, { body: chatBody });
    assert.equal(missing.exited?.status, 400);
    assert.deepEqual(missing.json, { error: { message: 'headers key x-model was not provided' } });
  });

  test('preserve forwards the client method, path and exact body bytes', async () => {
    const t: TargetConfig = { route_type: 'preserve', model: { provider: 'openai', options: { upstream_url: a.url } } };
    const { p } = plugin({ targets: [t] });
    const raw = '{ "custom" :  [1, 2] }';
    const kong = await run(p, { body: raw, method: 'PUT', path: '/v1/custom/thing?x=1' });
    assert.equal(kong.exited?.status, 200);
    assert.equal(a.requests[0]?.method, 'PUT');
    assert.equal(a.requests[0]?.url, '/v1/custom/thing?x=1');
    assert.equal(a.requests[0]?.body, raw);
    assert.ok(kong.calls.includes('kong.request.get_method'));
  });

  test('a body auth parameter is injected into the provider body', async () => {
    const t = target(a.url, { auth: { param_name: 'api_key', param_value: SECRET, param_location: 'body' } });
    const { p } = plugin({ targets: [t] });
    await run(p);
    assert.equal(a.requests[0]?.json?.api_key, SECRET);
  });

  test('a gzip answer is inflated: the client gets plain JSON, for success and error alike (Kong 08-encoding spec)', async () => {
    a.set({ kind: 'json', gzip: true, body: chatCompletion('gpt-3.5-turbo') });
    const { p } = plugin({ targets: [target(a.url)] });
    const ok = await run(p);
    assert.equal(ok.exited?.status, 200);
    assert.equal(ok.json.object, 'chat.completion');
    assert.equal(ok.exited?.headers['content-encoding'], undefined);
    a.set({ kind: 'json', gzip: true, status: 401, body: { error: { message: 'Incorrect API key provided' } } });
    const bad = await run(p);
    assert.equal(bad.exited?.status, 401);
    assert.deepEqual(bad.json, { error: { message: 'Incorrect API key provided' } });
  });

  test('a 2xx other than 200 is passed through untranslated', async () => {
    a.set({ kind: 'raw', status: 202, body: 'accepted' });
    const { p } = plugin({ targets: [target(a.url)] });
    const kong = await run(p);
    assert.equal(kong.exited?.status, 202);
    assert.equal(kong.exited?.body, 'accepted');
  });
});

/** The `ai.proxy` block the plugin set (one set_serialize_value for the whole block). */
function aiProxy(kong: FakePdk): Record<string, unknown> {
  const block = kong.serialized.get('ai.proxy');
  assert.ok(block !== null && typeof block === 'object', 'ai.proxy was set');
  return block as Record<string, unknown>;
}

describe('analytics (ai.proxy, Kong _EXPECTED_CHAT_STATS shape)', () => {
  test('log_statistics sets meta, usage with cost and tried_targets before exit', async () => {
    const t = target(a.url, { logging: { log_statistics: true }, model: { provider: 'openai', name: 'gpt-3.5-turbo', options: { upstream_url: `${a.url}/v1/chat/completions`, input_cost: 10, output_cost: 10 } } });
    const { p } = plugin({ targets: [t], __plugin_id: '6e7c40f6-ce96-48e4-a366-d109c169e444' });
    const kong = await run(p);
    // One set_serialize_value for the whole block (engine/analytics.ts), before exit.
    assert.deepEqual(kong.calls.filter((c) => c === 'kong.log.set_serialize_value'), ['kong.log.set_serialize_value']);
    assert.deepEqual([...kong.serialized.keys()], ['ai.proxy']);
    const meta = aiProxy(kong).meta as Record<string, unknown>;
    const usage = aiProxy(kong).usage as Record<string, number>;
    assert.deepEqual({ ...meta, llm_latency: 1 }, {
      plugin_id: '6e7c40f6-ce96-48e4-a366-d109c169e444',
      provider_name: 'openai',
      request_model: 'gpt-3.5-turbo',
      response_model: 'gpt-3.5-turbo',
      llm_latency: 1,
      request_mode: 'oneshot',
    });
    assert.equal(typeof meta.llm_latency, 'number');
    assert.deepEqual({ ...usage, time_per_token: 1 }, { prompt_tokens: 25, completion_tokens: 12, total_tokens: 37, time_per_token: 1, cost: 0.00037 });
    assert.equal(usage.time_per_token, (meta.llm_latency as number) / 12);
    assert.deepEqual(aiProxy(kong).tried_targets, [
      { provider: 'openai', model: 'gpt-3.5-turbo', host: '127.0.0.1', port: a.port, ip: '127.0.0.1', upstream_scheme: 'http', upstream_uri: '/v1/chat/completions', route_type: 'llm/v1/chat' },
    ]);
    assert.equal(aiProxy(kong).payload, undefined);
    assert.equal(kong.calls.at(-1), 'kong.response.exit');
  });

  test('log_payloads adds the request and response bodies; keys never appear anywhere', async () => {
    const t = target(a.url, { logging: { log_statistics: true, log_payloads: true } });
    t.auth = { param_name: 'key', param_value: SECRET, param_location: 'query', header_name: 'Authorization', header_value: `Bearer ${SECRET}` };
    const { p } = plugin({ targets: [t] });
    const kong = await run(p);
    const payload = aiProxy(kong).payload as { request: string; response: string };
    assert.match(payload.request, /"content":"What is 1 \+ 1\?"/);
    assert.match(payload.response, /"id":"chatcmpl-8T6YwgvjQVVnGbJ2w8hpOA17SeNy2"/);
    assert.ok(!JSON.stringify([...kong.serialized]).includes(SECRET));
    assert.ok(!kong.exited?.body.includes(SECRET));
    assert.match(a.requests[0]?.url ?? '', /key=sk-test/);
  });

  test('without log_statistics nothing is serialized', async () => {
    const { p } = plugin({ targets: [target(a.url)] });
    assert.equal((await run(p)).serialized.size, 0);
  });
});

describe('failover and retries', () => {
  test('a refused connection fails over to the next target with the default criteria', async () => {
    const targets = ordered(refused, a.url).map((t) => ({ ...t, logging: { log_statistics: true } }));
    const { p } = plugin({ targets, balancer: { algorithm: 'priority' } });
    const kong = await run(p);
    assert.equal(kong.exited?.status, 200);
    assert.equal(a.requests.length, 1);
    const tried = aiProxy(kong).tried_targets as Array<{ port: number }>;
    assert.deepEqual(tried.map((t) => t.port), [Number(new URL(refused).port), a.port]);
  });

  for (const status of [500, 502, 503, 504, 403, 404, 429]) {
    test(`http_${status} fails over only when listed with non_idempotent; otherwise the provider answer reaches the client`, async () => {
      a.set({ kind: 'json', status, body: { error: { message: `provider said ${status}` } }, headers: { 'x-provider': 'a' } });
      const crit = `http_${status}` as FailoverCriterion;
      const yes = plugin({ targets: ordered(a.url, b.url), balancer: failover(crit, 'non_idempotent') });
      assert.equal((await run(yes.p)).exited?.status, 200);
      assert.equal(b.requests.length, 1);
      for (const criteria of [[crit], ['error', 'timeout', 'non_idempotent']] as FailoverCriterion[][]) {
        const no = plugin({ targets: ordered(a.url, b.url), balancer: failover(...criteria) });
        const kong = await run(no.p);
        assert.equal(kong.exited?.status, status);
        assert.deepEqual(kong.json, { error: { message: `provider said ${status}` } });
        assert.equal(kong.exited?.headers['x-provider'], 'a');
      }
      assert.equal(b.requests.length, 1, 'b was not called without the criterion');
    });
  }

  test('a read timeout answers 504 with Kong text, failing over only with non_idempotent', async () => {
    a.set({ kind: 'hang' });
    const no = plugin({ targets: ordered(a.url, b.url), balancer: failover('error', 'timeout') });
    const kong = await run(no.p);
    assert.equal(kong.exited?.status, 504);
    assert.deepEqual(kong.json, { message: 'The upstream server is timing out' });
    assert.equal(b.requests.length, 0);
    assert.match(kong.logged[0] ?? '', /no upstream answered \(1 attempt\(s\)\); last: upstream timed out/);
    const yes = plugin({ targets: ordered(a.url, b.url), balancer: failover('timeout', 'non_idempotent') });
    assert.equal((await run(yes.p)).exited?.status, 200);
  });

  test('a reset connection answers 502 with Kong text; invalid HTTP is invalid_header', async () => {
    a.set({ kind: 'reset' });
    const kong = await run(plugin({ targets: ordered(a.url, b.url), balancer: failover('error', 'timeout') }).p);
    assert.equal(kong.exited?.status, 502);
    assert.deepEqual(kong.json, { message: 'An invalid response was received from the upstream server' });
    a.set({ kind: 'garbage' });
    assert.equal((await run(plugin({ targets: ordered(a.url, b.url), balancer: failover('error', 'non_idempotent') }).p)).exited?.status, 502);
    assert.equal((await run(plugin({ targets: ordered(a.url, b.url), balancer: failover('invalid_header', 'non_idempotent') }).p)).exited?.status, 200);
  });

  test('a failover target that cannot take the request ends failover with the previous upstream answer', async () => {
    a.set({ kind: 'json', status: 500, body: { error: { message: 'first target broke' } } });
    // The request names gpt-3.5-turbo: the second target enforces another model and would refuse it.
    const targets = [target(a.url, { weight: 100 }), target(b.url, { weight: 50 }, 'gpt-4o')];
    const kong = await run(plugin({ targets, balancer: failover('http_500', 'non_idempotent') }).p, { body: { ...chatBody, model: 'gpt-3.5-turbo' } });
    assert.equal(kong.exited?.status, 500);
    assert.deepEqual(kong.json, { error: { message: 'first target broke' } });
    assert.equal(b.requests.length, 0);
  });

  test('a connect timeout (nothing sent) fails over with the default criteria; a read timeout (sent) does not', async () => {
    // The network is injected: the first target's call fails as undici reports it, the second answers.
    const calls: string[] = [];
    const caller = (firstFailure: { kind: 'timeout'; sent: boolean }): UpstreamCaller => async (req) => {
      calls.push(new URL(req.url).port);
      if (calls.length === 1) return { ok: false, failure: firstFailure, message: 'timed out' };
      return { ok: true, response: { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(chatCompletion('gpt-3.5-turbo'))) } };
    };
    const targets = ordered(a.url, b.url);
    const connect = new AiProxyAdvanced({ __plugin_id: randomUUID(), targets, balancer: { algorithm: 'priority' } }, { attempt: { ...defaultAttemptDeps, call: caller({ kind: 'timeout', sent: false }) } });
    assert.equal((await run(connect)).exited?.status, 200);
    assert.deepEqual(calls, [String(a.port), String(b.port)]);
    calls.length = 0;
    const read = new AiProxyAdvanced({ __plugin_id: randomUUID(), targets, balancer: { algorithm: 'priority' } }, { attempt: { ...defaultAttemptDeps, call: caller({ kind: 'timeout', sent: true }) } });
    const kong = await run(read);
    assert.equal(kong.exited?.status, 504);
    assert.deepEqual(calls, [String(a.port)]);
  });

  test('retries bounds the attempts, and when all fail the last upstream answer is sent', async () => {
    a.set({ kind: 'json', status: 503, body: { error: 'a down' } });
    b.set({ kind: 'json', status: 503, body: { error: 'b down' } });
    const c = await EngineUpstream.start(() => ({ kind: 'json', status: 503, body: { error: 'c down' } }));
    try {
      const targets = ordered(a.url, b.url, c.url);
      const one = await run(plugin({ targets, balancer: { ...failover('http_503', 'non_idempotent'), retries: 1 } }).p);
      assert.deepEqual(one.json, { error: 'b down' });
      assert.equal(c.requests.length, 0);
      const all = await run(plugin({ targets, balancer: { ...failover('http_503', 'non_idempotent'), retries: 5 } }).p);
      assert.equal(all.exited?.status, 503);
      assert.deepEqual(all.json, { error: 'c down' }, 'each target is tried once, the last answer wins');
      assert.equal(a.requests.length + b.requests.length + c.requests.length, 5);
    } finally {
      await c.close();
    }
  });

  test('failover re-builds the request for the next provider: OpenAI fails, Anthropic answers in OpenAI format', async () => {
    a.set({ kind: 'json', status: 500, body: { error: { message: 'openai down' } } });
    // Kong's fixture anthropic/llm-v1-chat/responses/good.json, with usage filled in.
    b.set({ kind: 'json', body: { content: [{ text: 'The sum of 1 + 1 is 2.', type: 'text' }], model: 'claude-2.1', stop_reason: 'end_turn', usage: { input_tokens: 9, output_tokens: 4 } } });
    const claude: TargetConfig = {
      route_type: 'llm/v1/chat',
      weight: 10,
      model: { provider: 'anthropic', name: 'claude-2.1', options: { anthropic_version: '2023-06-01', upstream_url: `${b.url}/v1/messages`, max_tokens: 256 } },
      auth: { header_name: 'x-api-key', header_value: SECRET },
      logging: { log_statistics: true },
    };
    const { p } = plugin({ targets: [target(a.url, { weight: 100, logging: { log_statistics: true } }), claude], balancer: failover('http_500', 'non_idempotent') });
    const kong = await run(p);
    assert.equal(kong.exited?.status, 200);
    const choices = kong.json.choices as Array<{ message: { content: string; role: string } }>;
    assert.equal(choices[0]?.message.content, 'The sum of 1 + 1 is 2.');
    assert.equal(kong.exited?.headers['x-kong-llm-model'], 'anthropic/claude-2.1');
    const sent = b.requests[0];
    assert.equal(sent?.url, '/v1/messages');
    assert.equal(sent?.headers['x-api-key'], SECRET);
    assert.equal(sent?.headers['anthropic-version'], '2023-06-01');
    assert.equal(sent?.json?.model, 'claude-2.1');
    const msgs = sent?.json?.messages as Array<{ role: string; content: unknown }>;
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0]?.role, 'user');
    assert.match(JSON.stringify(msgs[0]?.content), /What is 1 \+ 1\?/);
    assert.equal(sent?.json?.max_tokens, 256);
    assert.equal(a.requests[0]?.json?.model, 'gpt-3.5-turbo', 'the first attempt went to OpenAI in its own format');
    const usage = aiProxy(kong).usage as Record<string, number>;
    assert.deepEqual([usage.prompt_tokens, usage.completion_tokens], [9, 4]);
    const tried = aiProxy(kong).tried_targets as Array<{ provider: string }>;
    assert.deepEqual(tried.map((t) => t.provider), ['openai', 'anthropic']);
  });

  test("a 429's Retry-After keeps the target out of the next picks", async () => {
    a.set({ kind: 'json', status: 429, body: { error: 'slow down' }, headers: { 'retry-after': '30' } });
    const { p } = plugin({ targets: ordered(a.url, b.url), balancer: failover('http_429', 'non_idempotent') });
    await run(p);
    for (let i = 0; i < 4; i++) assert.equal((await run(p)).exited?.status, 200);
    assert.equal(a.requests.length, 1, 'a was not picked again while waiting');
  });

  test('when Retry-After holds back every target the client gets 429 with Retry-After, not 500', async () => {
    a.set({ kind: 'json', status: 429, body: { error: 'slow down' }, headers: { 'retry-after': '30' } });
    const { p } = plugin({ targets: ordered(a.url), balancer: failover('http_429', 'non_idempotent') });
    const first = await run(p);
    assert.equal(first.exited?.status, 429, "the provider's own 429 is passed through");
    const second = await run(p);
    assert.equal(second.exited?.status, 429);
    const retryAfter = Number(second.exited?.headers?.['retry-after']);
    assert.ok(retryAfter >= 29 && retryAfter <= 30, `Retry-After ${retryAfter}`);
    assert.equal((second.json.error as { type: string }).type, 'rate_limit_error');
    assert.equal(a.requests.length, 1, 'the provider was not called again while it asked us to wait');
  });

  test('no target available answers 500 failed to get peer', async () => {
    const kong = await run(plugin({ targets: [] }).p);
    assert.equal(kong.exited?.status, 500);
    assert.equal((kong.json.error as { message: string }).message, 'failed to get peer');
  });

  test("a 200 the driver cannot read is Kong's transformation error, without failover", async () => {
    a.set({ kind: 'json', body: { nope: true } });
    const kong = await run(plugin({ targets: ordered(a.url, b.url), balancer: failover('error', 'http_500', 'non_idempotent') }).p);
    assert.equal(kong.exited?.status, 500);
    assert.equal((kong.json.error as { message: string }).message, "transformation failed from type openai://llm/v1/chat: 'choices' not in llm/v1/chat response");
    assert.equal(b.requests.length, 0);
  });
});

describe('bad requests and configs', () => {
  test('bad bodies get OpenAI-style 400 errors with Kong texts and never reach the provider', async () => {
    const { p } = plugin({ targets: [target(a.url)] });
    const cases: Array<[unknown, string]> = [
      ['{not json', 'content-type header does not match request body, or bad JSON formatting'],
      [{ messages: [] }, "request body doesn't contain valid prompts"],
      [{ model: 'gpt-4', messages: chatBody.messages }, 'cannot use own model - must be: gpt-3.5-turbo'],
      [{ prompt: 'hi' }, '[llm/v1/completions] message format is not compatible with [llm/v1/chat] route type'],
    ];
    for (const [body, message] of cases) {
      const kong = await run(p, { body });
      assert.equal(kong.exited?.status, 400);
      assert.deepEqual(kong.json, { error: { message } });
    }
    assert.equal(a.requests.length, 0);
  });

  test('an unsupported config is named on every request', async () => {
    // Gemini's native format on an OpenAI target: refused at validation, named on every request.
    const { p } = plugin({ targets: [target(a.url)], llm_format: 'gemini' });
    const kong = await run(p);
    assert.equal(kong.exited?.status, 500);
    assert.match((kong.json.error as { message: string }).message, /targets\[0\]\.model\.provider: native llm_format 'gemini' can only be used with the 'gemini' model\.provider/);
    assert.deepEqual(kong.calls, ['kong.response.exit']);
  });
});

describe('plugin state and circuit breaker', () => {
  test('instances of the same plugin id share balancer state across config objects', async () => {
    const id = randomUUID();
    const config: PluginConfig = { __plugin_id: id, targets: [target(a.url), target(b.url)] };
    await run(new AiProxyAdvanced(config));
    await run(new AiProxyAdvanced({ ...config, __seq__: 2 }));
    assert.equal(a.requests.length, 1, 'round-robin continued across instances');
    assert.equal(b.requests.length, 1);
  });

  test('max_fails opens the circuit for fail_timeout, then the target is tried again', async () => {
    a.set({ kind: 'json', status: 500, body: { error: 'down' } });
    const balancer = { failover_criteria: ['http_500', 'non_idempotent'] as FailoverCriterion[], max_fails: 1, fail_timeout: 300 };
    const targets = [target(a.url), target(b.url)];
    // Target health runs on an injected clock: fail_timeout passes when the test says so, not after a sleep.
    const clock = fakeClock();
    const balancers: BalancerSource = (config) => {
      const s = balancerStateFor(config, { now: clock.now, random: Math.random });
      return { balancer: s, health: s.health };
    };
    const id = randomUUID();
    const p = new AiProxyAdvanced({ targets, balancer, __plugin_id: id }, { balancers });
    for (let i = 0; i < 6; i++) assert.equal((await run(p)).exited?.status, 200);
    assert.equal(a.requests.length, 1, 'a was excluded after its first failure');
    // The plugin serves the schema-filled config; look its state up the same way.
    const filled = validateConfig({ __plugin_id: id, targets, balancer });
    assert.ok(filled.ok);
    const health = balancerStateFor(filled.config).health;
    assert.equal(health.status(0).state, 'open');
    a.set({ kind: 'json', body: chatCompletion('gpt-3.5-turbo') });
    clock.advance(299);
    for (let i = 0; i < 4; i++) await run(p);
    assert.equal(a.requests.length, 1, 'still excluded 1 ms before fail_timeout');
    clock.advance(51);
    for (let i = 0; i < 4; i++) await run(p);
    assert.ok(a.requests.length >= 2, 'a is back in rotation after fail_timeout');
    assert.equal(health.status(0).state, 'closed');
  });

  test('when every target is circuit-open the answer is 500', async () => {
    a.set({ kind: 'json', status: 500, body: { error: 'down' } });
    const { p } = plugin({ targets: [target(a.url)], balancer: { failover_criteria: ['http_500', 'non_idempotent'], max_fails: 1, fail_timeout: 60_000 } });
    assert.equal((await run(p)).exited?.status, 500);
    const kong = await run(p);
    assert.equal(kong.exited?.status, 500);
    assert.equal((kong.json.error as { message: string }).message, 'failed to get peer');
    assert.equal(a.requests.length, 1);
  });

  test('an invalid config is refused with the schema error naming the field', async () => {
    const kong = await run(new AiProxyAdvanced({ targets: [{ route_type: 'llm/v1/chat', model: { provider: 'azure', name: 'x' } }] }));
    assert.equal(kong.exited?.status, 500);
    assert.match((kong.json.error as { message: string }).message, /targets\[0\]/);
  });
});

describe('streamed delivery (stream: true)', () => {
  /** access() for a stream request, then what Kong would do: request the loopback endpoint it was pointed at. */
  async function stream(p: AiProxyAdvanced, body: Record<string, unknown> = { ...chatBody, stream: true }): Promise<{ kong: FakePdk; res: Response; text: string }> {
    const kong = new FakePdk({ body });
    await p.access(kong);
    assert.equal(kong.exited, undefined, 'a streamed request does not exit: Kong proxies it');
    const { host, port, scheme, path } = kong.upstream;
    const res = await fetch(`${scheme}://${host}:${port}${path}`, { method: 'POST', body: JSON.stringify(body) });
    return { kong, res, text: await res.text() };
  }

  test('points Kong at the loopback endpoint with three PDK calls, which relays the provider stream as SSE', async () => {
    a.set((r) => ({ kind: 'stream', frames: openAiChatStream(String(r.json?.model), ['The ', 'sum ', 'is 2.']) }));
    const { kong, res, text } = await stream(plugin({ targets: [target(a.url)] }).p);
    assert.deepEqual(kong.calls, [
      'kong.request.get_headers',
      'kong.request.get_raw_body',
      'kong.request.get_path_with_query',
      'kong.router.get_service',
      'kong.service.set_target',
      'kong.service.request.set_path',
    ]);
    assert.equal(kong.upstream.host, '127.0.0.1');
    assert.equal(kong.upstream.scheme, 'http');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(res.headers.get('x-kong-llm-model'), 'openai/gpt-3.5-turbo');
    assert.equal(res.headers.get('x-accel-buffering'), 'no', "so nginx relays each chunk instead of buffering");
    const data = text.split('\n\n').filter((f) => f !== '').map((f) => f.replace(/^data: /, ''));
    assert.equal(data.at(-1), '[DONE]');
    const words = data.slice(0, -1).map((d) => JSON.parse(d) as { choices: { delta?: { content?: string } }[] }).flatMap((c) => c.choices.map((x) => x.delta?.content ?? ''));
    assert.equal(words.join(''), 'The sum is 2.');
    assert.equal(a.requests[0]?.json?.stream, true, 'the provider was asked to stream');
  });

  test('set_scheme only when the service is not http already (every PDK call delays the first chunk)', async () => {
    a.set((r) => ({ kind: 'stream', frames: openAiChatStream(String(r.json?.model), ['ok']) }));
    const kong = new FakePdk({ body: { ...chatBody, stream: true }, service: { name: 'llm', protocol: 'https', host: 'example.com', port: 443 } });
    await plugin({ targets: [target(a.url)] }).p.access(kong);
    assert.deepEqual(kong.calls.slice(3), ['kong.router.get_service', 'kong.service.set_target', 'kong.service.request.set_scheme', 'kong.service.request.set_path']);
    assert.equal(kong.upstream.scheme, 'http');
    const res = await fetch(`http://127.0.0.1:${kong.upstream.port}${kong.upstream.path}`, { method: 'POST', body: '{}' });
    assert.match(await res.text(), /"ok"/);
  });

  test('a ticket serves one request: unknown and reused tickets get 404', async () => {
    a.set((r) => ({ kind: 'stream', frames: openAiChatStream(String(r.json?.model), ['ok']) }));
    const { kong } = await stream(plugin({ targets: [target(a.url)] }).p);
    const again = await fetch(`http://127.0.0.1:${kong.upstream.port}${kong.upstream.path}`, { method: 'POST', body: '{}' });
    assert.equal(again.status, 404);
    assert.deepEqual(((await again.json()) as { error: { message: string } }).error.message, 'unknown or already used stream ticket');
    const guess = await fetch(`http://127.0.0.1:${kong.upstream.port}/ai-proxy-advanced/stream/00000000000000000000000000000000`);
    assert.equal(guess.status, 404);
  });

  test('fails over before the first byte, and answers Kong-style errors when every target failed', async () => {
    a.set({ kind: 'json', status: 500, body: { error: { message: 'a broke' } } });
    b.set((r) => ({ kind: 'stream', frames: openAiChatStream(String(r.json?.model), ['from b']) }));
    const over = await stream(plugin({ targets: ordered(a.url, b.url), balancer: failover('http_500', 'non_idempotent') }).p);
    assert.equal(over.res.status, 200);
    assert.match(over.text, /from b/);
    const statusOnly = await stream(plugin({ targets: ordered(a.url, b.url), balancer: failover('error', 'timeout') }).p);
    assert.equal(statusOnly.res.status, 500, "without http_500 the provider's own error reaches the client");
    assert.deepEqual(JSON.parse(statusOnly.text), { error: { message: 'a broke' } });
    const dead = await stream(plugin({ targets: ordered(refused), balancer: failover('error') }).p);
    assert.equal(dead.res.status, 502);
    assert.deepEqual(JSON.parse(dead.text), { message: 'An invalid response was received from the upstream server' });
  });

  test('a route without a service gets an error naming that, not Kong\'s bare 503', async () => {
    const kong = await run(plugin({ targets: [target(a.url)] }).p, { body: { ...chatBody, stream: true }, service: null });
    assert.equal(kong.exited?.status, 500);
    assert.match((kong.json.error as { message: string }).message, /streaming needs the route to belong to a service/);
    assert.equal(a.requests.length, 0);
  });

  test('response_streaming: deny answers 400 from access, as Kong', async () => {
    const kong = await run(plugin({ targets: [target(a.url)], response_streaming: 'deny' }).p, { body: { ...chatBody, stream: true } });
    assert.equal(kong.exited?.status, 400);
    assert.deepEqual(kong.json, { error: { message: 'response streaming is not enabled for this LLM' } });
  });

  test('the usage of a finished stream feeds lowest-usage balancing', async () => {
    a.set((r) => ({ kind: 'stream', frames: openAiChatStream(String(r.json?.model), Array.from({ length: 40 }, () => 'w ')) }));
    b.set((r) => ({ kind: 'stream', frames: openAiChatStream(String(r.json?.model), ['w']) }));
    const { p } = plugin({ targets: [target(a.url), target(b.url)], balancer: { algorithm: 'lowest-usage', tokens_count_strategy: 'completion-tokens' } });
    for (let i = 0; i < 6; i++) await stream(p);
    a.requests.length = 0;
    b.requests.length = 0;
    for (let i = 0; i < 4; i++) await stream(p);
    assert.ok(b.requests.length > a.requests.length, `b (few tokens) is preferred: a ${a.requests.length}, b ${b.requests.length}`);
  });

  test("a translated provider's stream reaches the client as OpenAI chunks (Anthropic fixture, split across writes)", async () => {
    const input = readFixture('streams/anthropic-chat/input.txt').toString('utf8');
    const expected = readFixture('streams/anthropic-chat/expected.txt').toString('utf8');
    // Three writes cutting through events, as a provider's TCP segments may.
    const cuts = [0, Math.floor(input.length / 3), Math.floor((2 * input.length) / 3), input.length];
    a.set({ kind: 'stream', frames: cuts.slice(1).map((end, i) => input.slice(cuts[i], end)), gapMs: 2 });
    const anthropic: TargetConfig = {
      route_type: 'llm/v1/chat',
      model: { provider: 'anthropic', name: 'claude-3-5-sonnet-20241022', options: { anthropic_version: '2023-06-01', upstream_url: `${a.url}/v1/messages` } },
      auth: { header_name: 'x-api-key', header_value: SECRET },
    };
    const { res, text } = await stream(plugin({ targets: [anthropic] }).p, { ...chatBody, stream: true, stream_options: { include_usage: true } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-kong-llm-model'), 'anthropic/claude-3-5-sonnet-20241022');
    assert.equal(text, expected);
    assert.equal(a.requests[0]?.json?.stream, true);
    assert.equal(a.requests[0]?.headers['x-api-key'], SECRET);
  });

  test('a client that goes away mid-stream makes the plugin hang up on the provider', { timeout: 10_000 }, async () => {
    // A provider that sends one chunk and then keeps the stream open, reporting when its client disconnects.
    let providerSawClose!: () => void;
    const closed = new Promise<void>((r) => (providerSawClose = r));
    const slow = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(openAiChatStream('gpt-3.5-turbo', ['first'])[1]);
      res.on('close', () => providerSawClose());
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(slow.address() as { port: number }).port}`;
      const kong = new FakePdk({ body: { ...chatBody, stream: true } });
      await plugin({ targets: [target(url)] }).p.access(kong);
      const abort = new AbortController();
      const res = await fetch(`http://127.0.0.1:${kong.upstream.port}${kong.upstream.path}`, { method: 'POST', body: '{}', signal: abort.signal });
      const reader = res.body!.getReader();
      const first = await reader.read();
      assert.match(Buffer.from(first.value ?? []).toString(), /first/);
      abort.abort();
      await closed;
    } finally {
      slow.closeAllConnections();
      slow.close();
    }
  });
});
