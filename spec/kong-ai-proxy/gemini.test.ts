/**
 * Kong's spec/03-plugins/38-ai-proxy/11-gemini_integration_spec.lua, restated against the local gateway (the
 * project's plugin server over its unix socket, each Kong ai-proxy config as one ai-proxy-advanced target) with
 * Kong's fixtures. Kong's file-log entry is what the gateway's log-phase probe records from kong.log.serialize().
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TargetConfig } from '../../schemas/config';
import { startEngineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { EngineUpstream, type RecordedRequest } from '../helpers/engine-upstream';
import { fixtureAnswer } from '../helpers/kong-openai-mock';
import { kongLoggedStats } from '../helpers/kong-logged-stats';
import { specGet } from '../helpers/kong-spec-client';
import { readFixture } from '../helpers/providers-fixtures';

const PLUGIN_ID = '17434c15-2c7c-4c2f-b87a-58880533a3c1';
const GOOD_REQUEST = 'kong-oss/openai/llm-v1-chat/requests/good.json';

let up: EngineUpstream;
let gw: EngineGateway;
const seen: RecordedRequest[] = [];

function gemini(model: TargetConfig['model']): TargetConfig {
  return {
    route_type: 'llm/v1/chat',
    auth: { header_name: 'Authorization', header_value: 'Bearer gemini-key' },
    logging: { log_payloads: true, log_statistics: true },
    model,
  };
}

before(async () => {
  // Kong's mock location "/v1/chat/completions": good.json for the right key.
  up = await EngineUpstream.start((req) => {
    seen.push(req);
    if (req.url !== '/v1/chat/completions') return { kind: 'json', status: 404, body: { error: 'no such mock location' } };
    if (req.headers.authorization !== 'Bearer gemini-key') return { kind: 'json', status: 401, body: { error: { message: 'bad key' } } };
    return fixtureAnswer('kong-oss/gemini/llm-v1-chat/responses/good.json');
  });
  const upstream_url = `${up.url}/v1/chat/completions`;
  gw = await startEngineGateway([
    {
      path: '~/gemini/llm/v1/chat/good/(?<model>[^/]+)',
      config: { targets: [gemini({ name: '$(uri_captures.model)', provider: 'gemini', options: { upstream_url } })] },
    },
    {
      path: '/gemini/llm/v1/chat/good',
      pluginId: PLUGIN_ID,
      config: {
        targets: [
          gemini({ name: 'gemini-1.5-pro', provider: 'gemini', options: { max_tokens: 256, temperature: 1.0, upstream_url, input_cost: 15.0, output_cost: 15.0 } }),
        ],
      },
    },
  ]);
});
after(async () => {
  await gw?.close();
  await up?.close();
});

describe('11-gemini_integration_spec.lua, "gemini llm/v1/chat"', () => {
  test('"good request": Kong format, finish_reason stop, and the file-log analytics', async () => {
    const logged = gw.serialized('/gemini/llm/v1/chat/good').length;
    const before = seen.length;
    const r = await specGet(gw.proxy, '/gemini/llm/v1/chat/good', readFixture(GOOD_REQUEST));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json()['model'], 'gemini-1.5-pro');
    assert.equal(r.json()['object'], 'chat.completion');
    const choice = (r.json()['choices'] as Array<{ finish_reason: string; message: { content: string } }>)[0];
    assert.equal(choice?.finish_reason, 'stop');
    assert.equal(choice?.message.content, 'Everything is okay.');
    // The configured header is the key (Kong's generic auth), and the body is Gemini's.
    const sent = seen.slice(before).at(-1);
    assert.equal(sent?.headers.authorization, 'Bearer gemini-key');
    assert.ok(Array.isArray(sent?.json?.['contents']));

    const entry = await kongLoggedStats(gw, '/gemini/llm/v1/chat/good', logged + 1);
    assert.ok(entry.latency >= 0);
    assert.equal(entry.timePerToken.toFixed(3), (entry.latency / 11).toFixed(3));
    // Kong logs the body sent to the provider (Gemini's `contents`) and the answer the client got.
    assert.match(entry.payload?.request ?? '', /contents.*What is 1 \+ 1/s);
    assert.match(entry.payload?.response ?? '', /content.*Everything is okay/s);
    // Kong's _EXPECTED_CHAT_STATS, whole; what we add beyond Kong (README "Analytics") is pinned too.
    assert.deepEqual(entry.stats, {
      meta: { plugin_id: PLUGIN_ID, provider_name: 'gemini', request_model: 'gemini-1.5-pro', response_model: 'gemini-1.5-pro', llm_latency: 1 },
      usage: { prompt_tokens: 2, completion_tokens: 11, total_tokens: 13, time_per_token: 1, cost: 0.000195 },
    });
    assert.equal(entry.extra.requestMode, 'oneshot');
    assert.deepEqual(
      entry.extra.triedTargets.map((t) => [t['provider'], t['model'], t['upstream_uri']]),
      [['gemini', 'gemini-1.5-pro', '/v1/chat/completions']],
    );
  });

  test('"good request with model name from variable": $(uri_captures.model) names the model', async () => {
    const before = seen.length;
    const r = await specGet(gw.proxy, '/gemini/llm/v1/chat/good/gemni-2.0-flash', readFixture(GOOD_REQUEST));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json()['model'], 'gemni-2.0-flash');
    assert.equal(r.headers['x-kong-llm-model'], 'gemini/gemni-2.0-flash');
    assert.equal(seen.length, before + 1);
  });
});
