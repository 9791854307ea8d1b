/**
 * Kong's own ai-proxy integration cases, restated against the local gateway (the project's plugin server over its
 * unix socket, one ai-proxy-advanced target per Kong ai-proxy config) with Kong's fixtures. Each test names its
 * Kong spec file (Kong/kong spec/03-plugins/38-ai-proxy/) and test; where this project answers differently on
 * purpose, the test pins our answer and docs/providers.md says why.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TargetConfig } from '../../schemas/config';
import { startEngineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { EngineUpstream, type Behaviour } from '../helpers/engine-upstream';
import { readFixture, readJsonFixture } from '../helpers/providers-fixtures';

const ANTHROPIC = 'kong-oss/anthropic/llm-v1-chat';
let up: EngineUpstream;
let gw: EngineGateway;

/** The mock provider: Kong's mock locations, by path. */
const LOCATIONS: Record<string, string> = {
  '/llm/v1/chat/good': `${ANTHROPIC}/responses/good.json`,
  '/llm/v1/chat/bad_upstream_response': `${ANTHROPIC}/responses/bad_upstream_response.json`,
  '/llm/v1/chat/no_usage_upstream_response': `${ANTHROPIC}/responses/no_usage_response.json`,
  '/llm/v1/chat/malformed_usage_upstream_response': `${ANTHROPIC}/responses/malformed_usage_response.json`,
};

function anthropic(location: string): TargetConfig {
  return {
    route_type: 'llm/v1/chat',
    model: {
      provider: 'anthropic',
      name: 'claude-2.1',
      options: { max_tokens: 256, temperature: 1.0, upstream_url: `${up.url}${location}`, anthropic_version: '2023-06-01' },
    },
    auth: { header_name: 'x-api-key', header_value: 'anthropic-key' },
    logging: { log_statistics: true },
  };
}

before(async () => {
  up = await EngineUpstream.start((req): Behaviour => {
    const file = LOCATIONS[req.url.split('?')[0] ?? ''];
    if (!file) return { kind: 'json', status: 404, body: { error: 'no such mock location' } };
    return { kind: 'raw', status: 200, body: readFixture(file).toString('utf8'), headers: { 'content-type': 'application/json' } };
  });
  gw = await startEngineGateway([
    ...['good', 'bad_upstream_response', 'no_usage_upstream_response', 'malformed_usage_upstream_response'].map((name) => ({
      path: `/anthropic/llm/v1/chat/${name}`,
      config: { targets: [anthropic(`/llm/v1/chat/${name}`)] },
    })),
  ]);
});
after(async () => {
  await gw?.close();
  await up?.close();
});

async function post(path: string, body: string): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const r = await fetch(`${gw.proxy}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: r.status, json: (await r.json()) as Record<string, unknown>, headers: r.headers };
}

const good = (): string => readFixture(`${ANTHROPIC}/requests/good.json`).toString('utf8');

describe('03-anthropic_integration_spec.lua, anthropic llm/v1/chat', () => {
  test('"good request": the Kong-format answer and X-Kong-LLM-Model', async () => {
    const r = await post('/anthropic/llm/v1/chat/good', good());
    assert.equal(r.status, 200);
    assert.equal(r.json['model'], 'claude-2.1');
    assert.equal(r.json['object'], 'chat.completion');
    assert.equal(r.headers.get('x-kong-llm-model'), 'anthropic/claude-2.1');
    assert.deepEqual((r.json['choices'] as Array<{ message: unknown }>)[0]!.message, { content: 'The sum of 1 + 1 is 2.', role: 'assistant' });
  });

  test('"bad upstream response": 500 with Kong\'s transformation-failed text, no type, our code in the header', async () => {
    const r = await post('/anthropic/llm/v1/chat/bad_upstream_response', good());
    assert.equal(r.status, 500);
    assert.deepEqual(r.json, {
      error: { message: "transformation failed from type anthropic://llm/v1/chat: 'content' not in anthropic://llm/v1/chat response" },
    });
    assert.equal(r.headers.get('x-ai-proxy-error-code'), 'AIPA_ERR_TRANSLATION');
  });

  test('"bad request": Kong\'s 400 body, message only', async () => {
    const r = await post('/anthropic/llm/v1/chat/good', readFixture(`${ANTHROPIC}/requests/bad_request.json`).toString('utf8'));
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, { error: { message: "request body doesn't contain valid prompts" } });
    assert.equal(r.headers.get('x-ai-proxy-error-code'), 'AIPA_ERR_INVALID_REQUEST');
  });

  test('"no usage response": usage is Kong\'s "no usage data returned from upstream"; analytics count no tokens', async () => {
    const r = await post('/anthropic/llm/v1/chat/no_usage_upstream_response', good());
    assert.equal(r.status, 200);
    assert.equal(r.json['usage'], 'no usage data returned from upstream');
    const logged = await loggedUsage('/anthropic/llm/v1/chat/no_usage_upstream_response');
    assert.equal(logged?.['prompt_tokens'] ?? 0, 0);
    assert.equal(logged?.['completion_tokens'] ?? 0, 0, 'no estimate from the answer text');
  });

  test('"malformed usage response": usage is {}', async () => {
    const r = await post('/anthropic/llm/v1/chat/malformed_usage_upstream_response', good());
    assert.equal(r.status, 200);
    assert.deepEqual(r.json['usage'], {});
  });
});

describe('01-unit_spec.lua / normalize-request.lua: the client-visible 400 for a model of its own', () => {
  test('"cannot use own model - must be: <model>" as Kong sends it', async () => {
    const own = JSON.stringify({ ...readJsonFixture<Record<string, unknown>>(`${ANTHROPIC}/requests/good.json`), model: 'claude-3' });
    const r = await post('/anthropic/llm/v1/chat/good', own);
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, { error: { message: 'cannot use own model - must be: claude-2.1' } });
  });
});

/** The `ai.proxy` usage the log phase recorded for the latest request on a route (Kong's analytics). */
async function loggedUsage(routePath: string): Promise<Record<string, unknown> | undefined> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const entries = gw.serialized(routePath);
    const last = entries[entries.length - 1];
    const ai = (last?.['ai'] as Record<string, Record<string, unknown>> | undefined)?.['proxy'];
    if (ai) return ai['usage'] as Record<string, unknown> | undefined;
    if (Date.now() > deadline) throw new Error(`no log entry for ${routePath} within 5 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
