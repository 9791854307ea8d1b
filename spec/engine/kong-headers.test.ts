/**
 * Kong's proxied-answer headers on the plugin's exit answers (engine/kong-headers.ts): Kong's
 * kong/runloop/handler.lua header_filter adds X-Kong-Upstream-Latency, X-Kong-Proxy-Latency and Via only when it
 * proxied (ctx.KONG_PROXIED), so the plugin, which answers through kong.response.exit, adds them itself for
 * answers a provider gave; the `headers` setting (KONG_HEADERS) decides which, as in Kong. Latencies come from
 * an injected clock that moves only inside the provider calls, so the values are exact.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { TargetConfig } from '../../schemas/config';
import { AiProxyAdvanced } from '../../plugins/ai-proxy-advanced/handler';
import { defaultAttemptDeps } from '../../plugins/ai-proxy-advanced/engine/defaults';
import { DEFAULT_KONG_VERSION, kongHeaderSettings } from '../../plugins/ai-proxy-advanced/engine/kong-headers';
import type { AttemptDeps } from '../../plugins/ai-proxy-advanced/engine/attempts';
import { closeUpstreamAgents } from '../../plugins/ai-proxy-advanced/engine/upstream';
import { KONG_VERSION } from '../../kong/gateway/proxy/handler';
import { FakePdk } from '../helpers/engine-pdk';
import { EngineUpstream, chatCompletion } from '../helpers/engine-upstream';
import { fakeClock } from '../helpers/balancer-random';

let failing: EngineUpstream;
let good: EngineUpstream;
before(async () => {
  failing = await EngineUpstream.start(() => ({ kind: 'json', status: 500, body: { error: { message: 'down' } } }));
  good = await EngineUpstream.start(() => ({ kind: 'json', body: chatCompletion('gpt-4o'), headers: { via: '1.1 provider-edge' } }));
});
after(async () => {
  await failing.close();
  await good.close();
  await closeUpstreamAgents();
});

function target(url: string, weight: number): TargetConfig {
  return { route_type: 'llm/v1/chat', weight, model: { provider: 'openai', name: 'gpt-4o', options: { upstream_url: `${url}/v1/chat/completions` } } };
}

/** A plugin whose clock advances 25 ms inside a call to `failing` and 40 ms inside a call to `good`. */
function plugin(env: Record<string, string | undefined>): AiProxyAdvanced {
  const clock = fakeClock();
  const attempt: AttemptDeps = {
    ...defaultAttemptDeps,
    now: clock.now,
    call: async (req, t) => {
      const r = await defaultAttemptDeps.call(req, t);
      clock.advance(req.url.startsWith(failing.url) ? 25 : 40);
      return r;
    },
    signDeps: { ...defaultAttemptDeps.signDeps, env },
  };
  return new AiProxyAdvanced(
    {
      __plugin_id: randomUUID(),
      targets: [target(failing.url, 100), target(good.url, 1)],
      balancer: { algorithm: 'priority', failover_criteria: ['error', 'timeout', 'http_500', 'non_idempotent'] },
    },
    { attempt },
  );
}

async function run(p: AiProxyAdvanced, body: unknown = { messages: [{ role: 'user', content: 'hi' }] }): Promise<FakePdk> {
  const kong = new FakePdk({ body });
  await p.access(kong);
  assert.ok(kong.exited);
  return kong;
}

describe("Kong's proxied-answer headers on the plugin's answers", () => {
  test('by default (Kong\'s headers default): upstream latency of the answering try, proxy latency before it, Via after the provider\'s', async () => {
    const kong = await run(plugin({}));
    assert.equal(kong.exited?.status, 200);
    const h = kong.exited!.headers;
    assert.equal(h['x-kong-upstream-latency'], '40');
    assert.equal(h['x-kong-proxy-latency'], '25', 'the failed first try is time before the answering request was sent');
    assert.equal(h['via'], `1.1 provider-edge, 1.1 kong/${DEFAULT_KONG_VERSION}`);
  });

  test('KONG_HEADERS decides: off gives none, latency_tokens only the latencies, Via alone only Via', async () => {
    const off = (await run(plugin({ KONG_HEADERS: 'off' }))).exited!.headers;
    for (const k of ['x-kong-upstream-latency', 'x-kong-proxy-latency']) assert.equal(off[k], undefined, k);
    assert.equal(off['via'], '1.1 provider-edge', "the provider's own Via passes, without Kong's");
    const lat = (await run(plugin({ KONG_HEADERS: 'latency_tokens' }))).exited!.headers;
    assert.equal(lat['x-kong-upstream-latency'], '40');
    assert.equal(lat['via'], '1.1 provider-edge');
    const via = (await run(plugin({ KONG_HEADERS: 'Via', KONG_VERSION: '3.14.0' }))).exited!.headers;
    assert.equal(via['via'], '1.1 provider-edge, 1.1 kong/3.14.0');
    assert.equal(via['x-kong-proxy-latency'], undefined);
  });

  test('a request the plugin refuses before any provider call is not proxied: none of them (Kong adds only its Response-Latency)', async () => {
    const kong = await run(plugin({}), { messages: [] });
    assert.equal(kong.exited?.status, 400);
    assert.equal(kong.exited!.headers['x-kong-upstream-latency'], undefined);
    assert.equal(kong.exited!.headers['via'], undefined);
  });

  test('the Via version is the local gateway\'s, and a KONG_VERSION that is not x.y.z is not put in a header', () => {
    assert.equal(DEFAULT_KONG_VERSION, KONG_VERSION);
    assert.equal(kongHeaderSettings({ KONG_VERSION: '3.9\r\nx: y' }).version, DEFAULT_KONG_VERSION);
  });
});
