/**
 * Issue #6 item 5, end to end: the local gateway runs ai-proxy-advanced in the project's plugin server; the
 * OpenAI target (a local server) answers 429, the balancer fails over to an Anthropic target (a local server
 * speaking Anthropic's Messages wire format), and the client gets an OpenAI-format chat.completion with
 * `X-Kong-LLM-Model: anthropic/<model>`, Anthropic's token usage in the analytics, and no key anywhere.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TargetConfig } from '../../schemas/config';
import { eventually } from '../helpers/gateway-harness';
import { startEngineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { EngineUpstream, type RecordedRequest } from '../helpers/engine-upstream';
import { readJsonFixture } from '../helpers/providers-fixtures';

const OPENAI_KEY = 'sk-openai-SECRET';
const ANTHROPIC_KEY = 'sk-ant-SECRET';
const MODEL = 'claude-3-5-haiku-20241022';

let openai: EngineUpstream;
let anthropic: EngineUpstream;
let gw: EngineGateway;

/** Anthropic's Messages API as the real service answers it: key and version checked, Kong's good.json body. */
function anthropicApi(req: RecordedRequest) {
  if (req.url !== '/v1/messages') return { kind: 'json' as const, status: 404, body: { type: 'error', error: { type: 'not_found_error', message: 'Not found' } } };
  if (req.headers['x-api-key'] !== ANTHROPIC_KEY) {
    return { kind: 'json' as const, status: 401, body: readJsonFixture('kong-oss/anthropic/llm-v1-chat/responses/unauthorized.json') };
  }
  if (req.headers['anthropic-version'] !== '2023-06-01') {
    return { kind: 'json' as const, status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' } } };
  }
  const good = readJsonFixture<Record<string, unknown>>('kong-oss/anthropic/llm-v1-chat/responses/good.json');
  return {
    kind: 'json' as const,
    body: { ...good, id: 'msg_01', type: 'message', role: 'assistant', model: req.json?.['model'], stop_reason: 'end_turn', usage: { input_tokens: 17, output_tokens: 9 } },
  };
}

function targets(): TargetConfig[] {
  const logging = { log_statistics: true, log_payloads: false };
  return [
    {
      route_type: 'llm/v1/chat',
      weight: 100,
      model: { provider: 'openai', name: 'gpt-4o-mini', options: { upstream_url: `${openai.url}/v1/chat/completions` } },
      auth: { header_name: 'Authorization', header_value: `Bearer ${OPENAI_KEY}` },
      logging,
    },
    {
      route_type: 'llm/v1/chat',
      weight: 10,
      model: { provider: 'anthropic', name: MODEL, options: { anthropic_version: '2023-06-01', max_tokens: 256, upstream_url: `${anthropic.url}/v1/messages` } },
      auth: { header_name: 'x-api-key', header_value: ANTHROPIC_KEY },
      logging,
    },
  ];
}

before(async () => {
  openai = await EngineUpstream.start(() => ({
    kind: 'json',
    status: 429,
    headers: { 'retry-after': '1' },
    body: { error: { message: 'Rate limit reached for gpt-4o-mini', type: 'requests', code: 'rate_limit_exceeded' } },
  }));
  anthropic = await EngineUpstream.start(anthropicApi);
  gw = await startEngineGateway([
    { path: '/chat', config: { targets: targets(), balancer: { algorithm: 'priority', failover_criteria: ['http_429', 'non_idempotent'] } } },
  ]);
});

after(async () => {
  await gw?.close();
  await Promise.all([openai?.close(), anthropic?.close()]);
});

describe('cross-provider failover through the gateway', () => {
  test('an OpenAI 429 fails over to Anthropic and the client gets an OpenAI-format answer naming anthropic/<model>', async () => {
    const res = await fetch(`${gw.proxy}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'system', content: 'You are a mathematician.' }, { role: 'user', content: 'What is 1 + 1?' }] }),
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.equal(res.headers.get('x-kong-llm-model'), `anthropic/${MODEL}`);
    const body = JSON.parse(text) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(body['object'], 'chat.completion');
    assert.deepEqual(body['choices'][0]['message'], { role: 'assistant', content: 'The sum of 1 + 1 is 2.' });
    assert.deepEqual(body['usage'], { prompt_tokens: 17, completion_tokens: 9, total_tokens: 26 });

    assert.equal(openai.requests.length, 1, 'OpenAI tried once');
    assert.equal(openai.requests[0]?.headers.authorization, `Bearer ${OPENAI_KEY}`);
    const sent = anthropic.requests[0];
    assert.ok(sent, 'Anthropic was called');
    assert.equal(sent.url, '/v1/messages');
    assert.deepEqual(sent.json, {
      model: MODEL,
      messages: [{ role: 'user', content: 'What is 1 + 1?' }],
      system: 'You are a mathematician.',
      max_tokens: 256,
      stream: false,
    });
    assert.ok(!text.includes('SECRET'));

    const log = await eventually(() => gw.serialized('/chat')[0]);
    const ai = (log['ai'] as { proxy: Record<string, Record<string, unknown>> }).proxy;
    assert.equal(ai['meta']?.['provider_name'], 'anthropic');
    assert.equal(ai['usage']?.['total_tokens'], 26);
    const tried = ai['tried_targets'] as unknown as Array<{ provider: string }>;
    assert.deepEqual(tried.map((t) => t.provider), ['openai', 'anthropic']);
    assert.ok(!JSON.stringify(log).includes('SECRET'), 'no key in the log entry');
  });
});
