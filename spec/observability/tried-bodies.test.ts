/**
 * What the attempt records keep of the bodies sent: only the last attempt's, and only when its target logs
 * payloads (the only body ever logged, observability/record.ts). A streamed request's record waits for its log
 * phase, so every other body kept would be memory held for nothing.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { balancerStateFor, clearBalancerRegistry } from '../../plugins/ai-proxy-advanced/balancer';
import { runAttempts, type AttemptDeps } from '../../plugins/ai-proxy-advanced/engine/attempts';
import { parseRequestBody } from '../../plugins/ai-proxy-advanced/engine/parse-request';
import type { ClientRequest } from '../../plugins/ai-proxy-advanced/engine/pdk';
import { buildRuntime } from '../../plugins/ai-proxy-advanced/engine/runtime';
import type { UpstreamResult } from '../../plugins/ai-proxy-advanced/engine/upstream';
import { getDriver } from '../../plugins/ai-proxy-advanced/providers';
import { fakeDeps, targetConfig } from '../helpers/balancer-random';
import { validConfig } from '../helpers/filled-config';

afterEach(() => clearBalancerRegistry());

async function failedOver(logPayloads: boolean): Promise<Array<Buffer | undefined>> {
  const deps = fakeDeps(1);
  const logging = { log_statistics: true, log_payloads: logPayloads };
  const config = validConfig({
    __plugin_id: `tried-${logPayloads}`,
    targets: [targetConfig('down', 100, { logging }), targetConfig('up', 1, { logging })],
    balancer: { algorithm: 'priority' },
  });
  const state = balancerStateFor(config, deps);
  const rt = buildRuntime(config, () => ({ balancer: state, health: state.health }));
  const call = async (req: { body?: Buffer | undefined }): Promise<UpstreamResult> => {
    const model = (JSON.parse(String(req.body)) as { model: string }).model;
    if (model === 'down') return { ok: false, failure: { kind: 'error', sent: false }, message: 'refused' };
    const body = Buffer.from(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model, choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] }));
    return { ok: true, response: { status: 200, headers: { 'content-type': 'application/json' }, body } };
  };
  const attemptDeps: AttemptDeps = {
    now: deps.clock.now,
    epochNow: deps.clock.now,
    call,
    openStream: () => Promise.reject(new Error('not streamed')),
    getDriver,
    signDeps: { fetchJson: () => Promise.reject(new Error('no token endpoint')), now: deps.clock.now, env: {} },
  };
  const body = Buffer.from(JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }));
  const client: ClientRequest = { body, headers: new Map([['content-type', ['application/json']]]), path: '/', rawQuery: '', query: {}, method: 'POST', uriCaptures: {} };
  const result = await runAttempts(rt, client, parseRequestBody(body, 'application/json', 0), attemptDeps);
  assert.equal(result.kind, 'success');
  assert.deepEqual(result.tried.map((t) => t.model), ['down', 'up']);
  return result.tried.map((t) => t.body);
}

test('with log_payloads only the last attempt keeps its body', async () => {
  const bodies = await failedOver(true);
  assert.equal(bodies[0], undefined, 'the failed attempt dropped its body');
  assert.match(String(bodies[1]), /"model":"up"/);
});

test('without log_payloads no attempt keeps a body', async () => {
  assert.deepEqual(await failedOver(false), [undefined, undefined]);
});
