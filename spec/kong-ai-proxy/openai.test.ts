/**
 * Kong's spec/03-plugins/38-ai-proxy/02-openai_integration_spec.lua, restated against the local gateway (the
 * project's plugin server over its unix socket, one ai-proxy-advanced target per Kong ai-proxy config, Kong's
 * file-log, which the local gateway runs itself) with Kong's mock locations and fixtures
 * (spec/helpers/kong-openai-mock.ts). Requests are sent with GET and a JSON body, as Kong's spec sends them.
 * Each test names its Kong `describe` and `it`; where this project answers differently on purpose, the test
 * pins our answer and docs/providers.md says why.
 *
 * Not restated: "good request with http2" (the local gateway has no TLS/HTTP2 listener; the plugin never sees the
 * client's HTTP version), and the `ctx-checker-last` plugins of the spec, whose header no test reads and whose
 * `kong.ctx.shared.llm_model_requested` Kong OSS no longer sets.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TargetConfig } from '../../schemas/config';
import { openaiDriver } from '../../plugins/ai-proxy-advanced/providers/openai';
import { closeUpstreamAgents } from '../../plugins/ai-proxy-advanced/engine/upstream';
import { startEngineGateway, type EngineGateway, type EngineRoute } from '../helpers/engine-gateway';
import { EngineUpstream } from '../helpers/engine-upstream';
import { assertInternalServerErrorPage, assertInvalidApiKey, assertKongChat, assertKongError, assertNoPrompts, kongOpenAiMock, queryArg } from '../helpers/kong-openai-mock';
import { specGet } from '../helpers/kong-spec-client';
import { oneShot } from '../helpers/one-shot';
import { readFixture, readJsonFixture } from '../helpers/providers-fixtures';

const CHAT_REQ = 'kong-oss/openai/llm-v1-chat/requests';
const COMPLETIONS_REQ = 'kong-oss/openai/llm-v1-completions/requests';
const PLUGIN_ID = '6e7c40f6-ce96-48e4-a366-d109c169e444';

const logDir = mkdtempSync(path.join(os.tmpdir(), 'aipa-kong-openai-'));
const FILE_LOG_PATH_STATS_ONLY = path.join(logDir, 'stats-only.log');
const FILE_LOG_PATH_NO_LOGS = path.join(logDir, 'no-logs.log');
const FILE_LOG_PATH_WITH_PAYLOADS = path.join(logDir, 'with-payloads.log');

let up: EngineUpstream;
let gw: EngineGateway;

/** Kong's ai-proxy config on a route, as one ai-proxy-advanced target. */
function route(p: string, target: TargetConfig, extra: Partial<EngineRoute> = {}): EngineRoute {
  return { path: p, config: { targets: [target] }, ...extra };
}

function fileLog(file: string): NonNullable<EngineRoute['plugins']> {
  return [{ name: 'file-log', config: { path: file } }];
}

const bearer = (allow_override?: boolean): TargetConfig['auth'] => ({
  header_name: 'Authorization',
  header_value: 'Bearer openai-key',
  ...(allow_override === undefined ? {} : { allow_override }),
});

function openai(routeType: 'llm/v1/chat' | 'llm/v1/completions', name: string | undefined, location: string, rest: Partial<TargetConfig> = {}, options: Record<string, unknown> = {}): TargetConfig {
  return {
    route_type: routeType,
    auth: bearer(),
    model: { ...(name ? { name } : {}), provider: 'openai', options: { max_tokens: 256, temperature: 1.0, upstream_url: `${up.url}${location}`, ...options } },
    ...rest,
  };
}

before(async () => {
  up = await EngineUpstream.start(
    kongOpenAiMock({
      authorized: (req) => req.headers.authorization === 'Bearer openai-key' || queryArg(req, 'apikey') === 'openai-key' || req.json?.['apikey'] === 'openai-key',
      authorizedHeaderOnly: (req) => req.headers.authorization === 'Bearer openai-key',
    }),
  );
  const chat = (name: string | undefined, location: string, rest: Partial<TargetConfig> = {}, options: Record<string, unknown> = {}): TargetConfig =>
    openai('llm/v1/chat', name, location, rest, options);
  const completions = (rest: Partial<TargetConfig> = {}, location = '/llm/v1/completions/good'): TargetConfig =>
    openai('llm/v1/completions', 'gpt-3.5-turbo-instruct', location, rest);
  const queryAuth = (allow_override: boolean): Partial<TargetConfig> => ({ auth: { param_name: 'apikey', param_value: 'openai-key', param_location: 'query', allow_override } });
  const bodyAuth = (allow_override: boolean): Partial<TargetConfig> => ({ auth: { param_name: 'apikey', param_value: 'openai-key', param_location: 'body', allow_override } });
  gw = await startEngineGateway([
    route(
      '/openai/llm/v1/chat/good',
      chat('gpt-3.5-turbo', '/llm/v1/chat/good', { logging: { log_payloads: false, log_statistics: true }, auth: bearer(true) }, { input_cost: 10.0, output_cost: 10.0 }),
      { pluginId: PLUGIN_ID, plugins: fileLog(FILE_LOG_PATH_STATS_ONLY) },
    ),
    route(
      '/openai/llm/v1/chat/good-no-allow-override',
      chat('gpt-3.5-turbo', '/llm/v1/chat/good', { logging: { log_payloads: false, log_statistics: true }, auth: bearer(false) }, { input_cost: 10.0, output_cost: 10.0 }),
    ),
    route('/openai/llm/v1/chat/good-without-stats', chat('gpt-3.5-turbo', '/llm/v1/chat/good', { logging: { log_payloads: false, log_statistics: false } }), {
      plugins: fileLog(FILE_LOG_PATH_NO_LOGS),
    }),
    route('/openai/llm/v1/chat/good-with-payloads', chat('gpt-3.5-turbo', '/llm/v1/chat/good', { logging: { log_payloads: true, log_statistics: true } }), {
      plugins: fileLog(FILE_LOG_PATH_WITH_PAYLOADS),
    }),
    route('/openai/llm/v1/chat/bad_upstream_response', chat('gpt-3.5-turbo', '/llm/v1/chat/bad_upstream_response')),
    route('/openai/llm/v1/completions/good', completions()),
    route('/openai/llm/v1/completions/query-param-auth', completions(queryAuth(true))),
    route('/openai/llm/v1/completions/query-param-auth-no-allow-override', completions(queryAuth(false))),
    // Kong's preserve route keeps the default strip_path; preserve sends the client's whole path all the same.
    route('/llm/v1/embeddings/good', { route_type: 'preserve', auth: bearer(), model: { provider: 'openai', options: { upstream_url: `${up.url}/whatever/doesnt/matter` } } }),
    route('/openai/llm/v1/chat/good-no-model-param', chat(undefined, '/llm/v1/chat/good')),
    route('/openai/llm/v1/completions/post-body-auth', completions(bodyAuth(true))),
    route('/openai/llm/v1/completions/post-body-auth-no-allow-override', completions(bodyAuth(false))),
    route('/openai/llm/v1/chat/unauthorized', chat('gpt-3.5-turbo', '/llm/v1/chat/good', { auth: { header_name: 'Authorization', header_value: 'Bearer wrong-key' } })),
    route('/openai/llm/v1/chat/bad_request', chat('gpt-3.5-turbo', '/llm/v1/chat/bad_request')),
    route('/openai/llm/v1/completions/bad_request', completions({}, '/llm/v1/completions/bad_request')),
    route('/openai/llm/v1/chat/internal_server_error', chat('gpt-3.5-turbo', '/llm/v1/chat/internal_server_error')),
  ]);
});
after(async () => {
  await gw?.close();
  await closeUpstreamAgents();
  await up?.close();
});

const chatGood = (): string => readFixture(`${CHAT_REQ}/good.json`).toString('utf8');
const completionsGood = (): string => readFixture(`${COMPLETIONS_REQ}/good.json`).toString('utf8');
const withApiKey = (apikey: string): string => JSON.stringify({ ...readJsonFixture<Record<string, unknown>>(`${COMPLETIONS_REQ}/good.json`), apikey });

let logCase = 0;

/**
 * A chat request on a route with file-log: the answer is Kong's good one; returned is the file-log entry of this
 * request, found by a header of its own (Kong truncates the file before each case; an entry of an earlier
 * request on the same route may still be on its way).
 */
async function loggedChat(file: string, routePath: string, body: string | Buffer): Promise<Record<string, unknown>> {
  const id = `case-${++logCase}`;
  writeFileSync(file, '');
  const r = await specGet(gw.proxy, routePath, body, { 'x-kong-spec-case': id });
  assert.equal(r.status, 200, r.text);
  assertKongChat(r.json());
  const deadline = Date.now() + 10_000;
  for (;;) {
    const entries = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const mine = entries.find((e) => (e['request'] as { headers?: Record<string, unknown> }).headers?.['x-kong-spec-case'] === id);
    if (mine) return mine;
    if (Date.now() > deadline) throw new Error(`${file}: no log entry for ${id} within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function assertKongCompletion(json: Record<string, unknown>): void {
  assert.equal(json['id'], 'cmpl-8TBeaJVQIhE9kHEJbk1RnKzgFxIqN');
  assert.equal(json['model'], 'gpt-3.5-turbo-instruct');
  assert.equal(json['object'], 'text_completion');
  assert.equal((json['choices'] as Array<{ text: string }>)[0]!.text, '\n\nI am a language model AI created by OpenAI. I can answer questions');
}

/**
 * Kong's _EXPECTED_CHAT_STATS, compared whole as Kong compares it (latency and time per token normalised to 1
 * after checking them), plus the two ai-proxy-advanced fields Kong OSS's ai-proxy does not log: `meta.request_mode`
 * (Kong 3.12) and `tried_targets` (Kong 3.11); docs/providers.md "Deliberate differences".
 */
function assertKongStats(entry: Record<string, unknown>): void {
  assert.equal(entry['client_ip'], '127.0.0.1');
  assert.equal(typeof (entry['request'] as { size: unknown }).size, 'number');
  assert.equal(typeof (entry['response'] as { size: unknown }).size, 'number');
  const ai = structuredClone(entry['ai']) as { proxy: { meta: Record<string, unknown>; usage: Record<string, unknown> } };
  const { meta, usage } = ai.proxy;
  const latency = meta['llm_latency'] as number;
  assert.ok(latency >= 0);
  assert.equal(Number((usage['time_per_token'] as number).toFixed(3)), Number((latency / (usage['completion_tokens'] as number)).toFixed(3)));
  meta['llm_latency'] = 1;
  usage['time_per_token'] = 1;
  assert.deepEqual(ai, {
    proxy: {
      meta: { plugin_id: PLUGIN_ID, provider_name: 'openai', request_model: 'gpt-3.5-turbo', response_model: 'gpt-3.5-turbo-0613', llm_latency: 1, request_mode: 'oneshot' },
      usage: { prompt_tokens: 25, completion_tokens: 12, total_tokens: 37, time_per_token: 1, cost: 0.00037 },
      tried_targets: [
        { provider: 'openai', model: 'gpt-3.5-turbo', host: '127.0.0.1', ip: '127.0.0.1', port: up.port, upstream_scheme: 'http', upstream_uri: '/llm/v1/chat/good', route_type: 'llm/v1/chat' },
      ],
    },
  });
}

describe('02-openai_integration_spec.lua "openai general"', () => {
  test('"logs statistics": Kong\'s _EXPECTED_CHAT_STATS in the file-log entry', async () => {
    const entry = await loggedChat(FILE_LOG_PATH_STATS_ONLY, '/openai/llm/v1/chat/good', chatGood());
    assertKongStats(entry);
  });

  test('"does not log statistics": no `ai` in the file-log entry', async () => {
    const entry = await loggedChat(FILE_LOG_PATH_NO_LOGS, '/openai/llm/v1/chat/good-without-stats', chatGood());
    assert.equal(entry['client_ip'], '127.0.0.1');
    assert.equal(typeof (entry['request'] as { size: unknown }).size, 'number');
    assert.equal(typeof (entry['response'] as { size: unknown }).size, 'number');
    assert.equal(entry['ai'], undefined);
  });

  test('"logs payloads": the request as sent, the provider\'s answer as received', async () => {
    const entry = await loggedChat(FILE_LOG_PATH_WITH_PAYLOADS, '/openai/llm/v1/chat/good-with-payloads', chatGood());
    assert.equal(entry['client_ip'], '127.0.0.1');
    const payload = (entry['ai'] as { proxy: { payload: { request: string; response: string } } }).proxy.payload;
    assert.ok(payload.request.includes('"content":"What is 1 + 1?"'), payload.request);
    assert.ok(payload.request.includes('"role":"user"'));
    assert.ok(payload.response.includes('"content": "The sum of 1 + 1 is 2.",'), payload.response);
    assert.ok(payload.response.includes('"role": "assistant"'));
    assert.ok(payload.response.includes('"id": "chatcmpl-8T6YwgvjQVVnGbJ2w8hpOA17SeNy2"'));
  });

  test('"internal_server_error request": the provider\'s 500 page', async () => {
    assertInternalServerErrorPage(await specGet(gw.proxy, '/openai/llm/v1/chat/internal_server_error', chatGood()));
  });

  test('"unauthorized request": the provider\'s 401 passed through', async () => {
    assertInvalidApiKey(await specGet(gw.proxy, '/openai/llm/v1/chat/unauthorized', chatGood()));
  });

  test('"unauthorized request with client header auth": allow_override lets the client\'s wrong key through', async () => {
    assertInvalidApiKey(await specGet(gw.proxy, '/openai/llm/v1/chat/good', chatGood(), { Authorization: 'Bearer wrong' }));
  });

  test('"authorized request with client header auth"', async () => {
    const r = await specGet(gw.proxy, '/openai/llm/v1/chat/good', chatGood(), { Authorization: 'Bearer openai-key' });
    assert.equal(r.status, 200);
  });

  test('"authorized request with client right header auth with no allow_override"', async () => {
    const r = await specGet(gw.proxy, '/openai/llm/v1/chat/good-no-allow-override', chatGood(), { Authorization: 'Bearer openai-key' });
    assert.equal(r.status, 200);
  });

  test('"authorized request with wrong client header auth with no allow_override": the configured key wins', async () => {
    const r = await specGet(gw.proxy, '/openai/llm/v1/chat/good-no-allow-override', chatGood(), { Authorization: 'Bearer wrong' });
    assert.equal(r.status, 200);
    assert.equal(up.requests[up.requests.length - 1]?.headers.authorization, 'Bearer openai-key');
  });
});

describe('02-openai_integration_spec.lua "openai llm/v1/chat"', () => {
  test('"good request": Kong\'s format and X-Kong-LLM-Model', async () => {
    const r = await specGet(gw.proxy, '/openai/llm/v1/chat/good', chatGood());
    assert.equal(r.status, 200);
    assertKongChat(r.json());
    assert.equal(r.headers['x-kong-llm-model'], 'openai/gpt-3.5-turbo');
  });

  test('"good request, parses model of cjson.null": a null model is no model', async () => {
    const body = JSON.stringify({ ...readJsonFixture<Record<string, unknown>>(`${CHAT_REQ}/good.json`), model: null });
    const r = await specGet(gw.proxy, '/openai/llm/v1/chat/good', body);
    assert.equal(r.status, 200);
    assertKongChat(r.json());
    assert.equal(up.requests[up.requests.length - 1]?.json?.['model'], 'gpt-3.5-turbo');
  });

  test('"tries to override configured model": Kong\'s 400, message only', async () => {
    const r = await specGet(gw.proxy, '/openai/llm/v1/chat/good', readFixture(`${CHAT_REQ}/good_own_model.json`));
    assert.equal(r.status, 400);
    assert.deepEqual(r.json(), { error: { message: 'cannot use own model - must be: gpt-3.5-turbo' } });
  });

  test('"bad upstream response": Kong\'s transformation-failed 500', async () => {
    const r = await specGet(gw.proxy, '/openai/llm/v1/chat/bad_upstream_response', chatGood());
    assertKongError(r, 500, "transformation failed from type openai://llm/v1/chat: 'choices' not in llm/v1/chat response");
  });

  test('"bad request": refused before any provider call', async () => {
    await assertNoPrompts(up, () => specGet(gw.proxy, '/openai/llm/v1/chat/bad_request', readFixture(`${CHAT_REQ}/bad_request.json`)));
  });

  test('"good request setting model from client body": no configured model, the client\'s is used', async () => {
    const r = await specGet(gw.proxy, '/openai/llm/v1/chat/good-no-model-param', readFixture(`${CHAT_REQ}/good_own_model.json`));
    assert.equal(r.status, 200);
    assertKongChat(r.json());
    assert.equal(r.headers['x-kong-llm-model'], 'openai/try-to-override-the-model');
    assert.equal(up.requests[up.requests.length - 1]?.json?.['model'], 'try-to-override-the-model');
  });

  test('"#REGRESSION user defined model doesn\'t pollute long lived config table"', async () => {
    const base = readJsonFixture<Record<string, unknown>>(`${CHAT_REQ}/good_own_model.json`);
    for (let i = 1; i <= 10; i++) {
      const model = `random-model-${i}`;
      const r = await specGet(gw.proxy, '/openai/llm/v1/chat/good-no-model-param', JSON.stringify({ ...base, model }));
      assert.equal(r.status, 200);
      assertKongChat(r.json());
      assert.equal(r.headers['x-kong-llm-model'], `openai/${model}`);
      assert.equal(up.requests[up.requests.length - 1]?.json?.['model'], model);
    }
  });
});

describe('02-openai_integration_spec.lua "openai llm/v1/completions"', () => {
  test('"good request"', async () => {
    const r = await specGet(gw.proxy, '/openai/llm/v1/completions/good', completionsGood());
    assert.equal(r.status, 200);
    assertKongCompletion(r.json());
  });

  test('"bad request": refused before any provider call', async () => {
    await assertNoPrompts(up, () => specGet(gw.proxy, '/openai/llm/v1/completions/bad_request', readFixture(`${COMPLETIONS_REQ}/bad_request.json`)));
  });
});

describe('02-openai_integration_spec.lua "openai preserve mode"', () => {
  test('"embeddings": the client\'s path and body, the provider\'s answer, X-Kong-LLM-Model from the body', async () => {
    const r = await specGet(gw.proxy, '/llm/v1/embeddings/good', JSON.stringify({ model: 'text-embedding-ada-002', input: 'The food was delicious and the waiter', encoding_format: 'float' }));
    assert.equal(r.status, 200);
    const json = r.json<{ data: unknown[]; model: string }>();
    assert.ok(json.data[0]);
    assert.equal(json.model, 'text-embedding-3-large');
    assert.equal(r.headers['x-kong-llm-model'], 'openai/text-embedding-ada-002');
  });
});

describe('02-openai_integration_spec.lua "openai different auth methods"', () => {
  const completion = async (p: string, body = completionsGood()): Promise<void> => {
    const r = await specGet(gw.proxy, p, body);
    assert.equal(r.status, 200, r.text);
    assertKongCompletion(r.json());
  };
  const unauthorized = async (p: string, body = completionsGood()): Promise<void> => {
    assertInvalidApiKey(await specGet(gw.proxy, p, body));
  };
  const sentQuery = (): string | null => queryArg(up.requests[up.requests.length - 1]!, 'apikey');
  const sentBody = (): unknown => up.requests[up.requests.length - 1]?.json?.['apikey'];

  test('"works with query param auth"', async () => {
    await completion('/openai/llm/v1/completions/query-param-auth');
    assert.equal(sentQuery(), 'openai-key');
  });
  test('"works with query param auth with client right auth parm"', async () => {
    await completion('/openai/llm/v1/completions/query-param-auth?apikey=openai-key');
  });
  test('"works with query param auth with client wrong auth parm"', async () => {
    await unauthorized('/openai/llm/v1/completions/query-param-auth?apikey=wrong');
  });
  test('"works with query param auth with client right auth parm with no allow-override"', async () => {
    await completion('/openai/llm/v1/completions/query-param-auth-no-allow-override?apikey=openai-key');
  });
  test('"works with query param auth with client wrong auth parm with no allow-override": the configured key wins', async () => {
    await completion('/openai/llm/v1/completions/query-param-auth-no-allow-override?apikey=wrong');
    assert.equal(sentQuery(), 'openai-key');
  });
  test('"works with post body auth"', async () => {
    await completion('/openai/llm/v1/completions/post-body-auth');
    assert.equal(sentBody(), 'openai-key');
  });
  test('"works with post body auth with client right auth body"', async () => {
    await completion('/openai/llm/v1/completions/post-body-auth', withApiKey('openai-key'));
  });
  test('"works with post body auth with client wrong auth body"', async () => {
    await unauthorized('/openai/llm/v1/completions/post-body-auth', withApiKey('wrong'));
  });
  test('"works with post body auth with client right auth body and no allow_override"', async () => {
    await completion('/openai/llm/v1/completions/post-body-auth-no-allow-override', withApiKey('openai-key'));
  });
  test('"works with post body auth with client wrong auth body and no allow_override": the configured key wins', async () => {
    await completion('/openai/llm/v1/completions/post-body-auth-no-allow-override', withApiKey('wrong'));
    assert.equal(sentBody(), 'openai-key');
  });
});

describe('02-openai_integration_spec.lua "openai multi-modal requests"', () => {
  const multiModal = (): Buffer => readFixture(`${CHAT_REQ}/good_multi_modal.json`);

  test('"logs statistics"', async () => {
    const entry = await loggedChat(FILE_LOG_PATH_STATS_ONLY, '/openai/llm/v1/chat/good', multiModal());
    assertKongStats(entry);
  });

  test('"logs payloads"', async () => {
    const entry = await loggedChat(FILE_LOG_PATH_WITH_PAYLOADS, '/openai/llm/v1/chat/good-with-payloads', multiModal());
    const payload = (entry['ai'] as { proxy: { payload: { request: string; response: string } } }).proxy.payload;
    assert.ok(payload.request.includes(`"text":"What's in this image?"`), payload.request);
    assert.ok(payload.request.includes('"role":"user"'));
    assert.ok(payload.response.includes('"content": "The sum of 1 + 1 is 2.",'));
    assert.ok(payload.response.includes('"role": "assistant"'));
    assert.ok(payload.response.includes('"id": "chatcmpl-8T6YwgvjQVVnGbJ2w8hpOA17SeNy2"'));
  });
});

/** Kong's driver-level "one-shot request" (spec/helpers/one-shot.ts). */
describe('02-openai_integration_spec.lua "one-shot request"', () => {
  const plugin = (location: string): TargetConfig => ({
    route_type: 'llm/v1/chat',
    auth: bearer(),
    model: { name: 'gpt-3.5-turbo', provider: 'openai', options: { max_tokens: 1024, upstream_url: `${up.url}${location}` } },
  });
  const request = { messages: [{ role: 'system', content: 'Some system prompt' }, { role: 'user', content: 'Some question' }] };

  test('"success"', async () => {
    const { status, body, ctx } = await oneShot(openaiDriver, plugin('/llm/v1/chat/good'), request);
    assert.equal(status, 200);
    const out = openaiDriver.fromResponse(status, {}, body, ctx);
    const json = out.body as { choices: Array<{ message: unknown }> };
    assert.deepEqual(json.choices[0]!.message, { content: 'The sum of 1 + 1 is 2.', role: 'assistant' });
  });

  test('"404": the provider\'s error, passed through', async () => {
    const { status, body, ctx } = await oneShot(openaiDriver, plugin('/llm/v1/chat/nowhere'), request);
    assert.equal(status, 404);
    const err = openaiDriver.fromError(status, { 'content-type': 'text/html' }, body, ctx);
    assert.equal(err.status, 404);
    assert.ok(String(err.body).includes('404 Not Found'));
  });
});
