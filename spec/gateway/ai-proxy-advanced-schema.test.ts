/**
 * ai-proxy-advanced's schema as the local gateway serves and enforces it: the Kong schema array the plugin
 * server reports round-trips through GET /schemas/plugins/{name}, and the Admin API and declarative loading
 * refuse configs with Kong's cross-field rules (schemas/, plugged in by kong/gateway/validators/).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KONG_SCHEMA_FIELDS } from '../../schemas/kong-schema';
import { REALTIME_REFUSAL } from '../../schemas/definition/route-support';
import { RUNTIME_CLI, shellQuote, startHarness, type Harness } from '../helpers/gateway-harness';
import { send } from '../helpers/gateway-upstream';

const PROBE = { name: 'probe', priority: 1, phases: ['log' as const] };
const PLUGINS_DIR = path.resolve(__dirname, '..', '..', 'plugins');

function aipaSettings(sockDir: string): Record<string, string> {
  const node = shellQuote(process.execPath);
  const cli = shellQuote(RUNTIME_CLI);
  return {
    // The harness's probe plugin server stays alongside (the harness drops plugin servers without test plugins).
    KONG_PLUGINS: 'bundled,ai-proxy-advanced,probe',
    KONG_PLUGINSERVER_NAMES: 'aipa,probe',
    KONG_PLUGINSERVER_AIPA_SOCKET: path.join(sockDir, 'aipa.sock'),
    KONG_PLUGINSERVER_AIPA_START_CMD: `${node} ${cli} -p ${shellQuote(sockDir)} --sock-name aipa.sock -d ${shellQuote(PLUGINS_DIR)}`,
    KONG_PLUGINSERVER_AIPA_QUERY_CMD: `${node} ${cli} -d ${shellQuote(PLUGINS_DIR)} --dump-all-plugins`,
  };
}

const json = (body: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const ANTHROPIC_WITHOUT_VERSION = {
  targets: [
    { route_type: 'llm/v1/chat', model: { provider: 'openai', name: 'gpt-4o' } },
    { route_type: 'llm/v1/chat', model: { provider: 'anthropic', name: 'claude-3-5-haiku-20241022' } },
  ],
};

describe('ai-proxy-advanced through the Admin API', () => {
  let h: Harness;
  const sockDir = mkdtempSync(path.join(os.tmpdir(), 'aipa-schema-'));
  before(async () => {
    h = await startHarness({ plugins: [PROBE], extraSettings: aipaSettings(sockDir) });
  });
  after(async () => {
    await h.close();
    rmSync(sockDir, { recursive: true, force: true });
  });

  test('GET /schemas/plugins/ai-proxy-advanced returns the Kong schema array the plugin exports', async () => {
    const r = await send(`${h.admin}/schemas/plugins/ai-proxy-advanced`);
    assert.equal(r.status, 200);
    const fields = r.json().fields as Array<Record<string, { type: string; fields: unknown }>>;
    const config = fields.find((f) => 'config' in f)?.config;
    assert.ok(config, 'the schema has a config record');
    assert.equal(config.type, 'record');
    assert.deepEqual(config.fields, JSON.parse(JSON.stringify(KONG_SCHEMA_FIELDS)));
  });

  test('a target missing a provider-required option is refused with Kong schema-violation fields', async () => {
    const r = await send(`${h.admin}/plugins`, { method: 'POST', ...json({ name: 'ai-proxy-advanced', config: ANTHROPIC_WITHOUT_VERSION }) });
    assert.equal(r.status, 400);
    const body = r.json();
    assert.equal(body.code, 2);
    assert.equal(body.name, 'schema violation');
    const targets = body.fields.config.targets as Array<unknown>;
    assert.equal(targets[0], null, 'the valid first target has no error');
    const second = targets[1] as { model: { options: Record<string, unknown> } | Record<string, unknown> };
    assert.match(JSON.stringify(second), /anthropic_version/);
    assert.match(JSON.stringify(second), /anthropic/);
    const list = await send(`${h.admin}/plugins`);
    assert.equal(list.json().data.length, 0, 'nothing was stored');
  });

  test('a realtime target is refused at config.targets[i].route_type, nothing stored', async () => {
    const config = { targets: [{ route_type: 'llm/v1/chat', model: { provider: 'openai', name: 'gpt-4o' } }, { route_type: 'realtime/v1/realtime', model: { provider: 'openai', name: 'gpt-4o-realtime-preview' } }] };
    const r = await send(`${h.admin}/plugins`, { method: 'POST', ...json({ name: 'ai-proxy-advanced', config }) });
    assert.equal(r.status, 400);
    const targets = r.json().fields.config.targets as Array<Record<string, unknown> | null>;
    assert.equal(targets[0], null);
    assert.equal(targets[1]?.route_type, REALTIME_REFUSAL);
    const pair = await send(`${h.admin}/schemas/plugins/validate`, {
      method: 'POST',
      ...json({ name: 'ai-proxy-advanced', config: { targets: [{ route_type: 'llm/v1/responses', model: { provider: 'anthropic', options: { anthropic_version: '2023-06-01' } } }] } }),
    });
    assert.equal(pair.status, 400);
    assert.match(String(pair.json().fields.config.targets[0].route_type), /not served for provider 'anthropic'/);
    assert.equal((await send(`${h.admin}/plugins`)).json().data.length, 0, 'nothing was stored');
  });

  test('POST /schemas/plugins/validate applies the same cross-field rules', async () => {
    const bad = await send(`${h.admin}/schemas/plugins/validate`, { method: 'POST', ...json({ name: 'ai-proxy-advanced', config: ANTHROPIC_WITHOUT_VERSION }) });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.json().fields), /anthropic_version/);
    const semantic = await send(`${h.admin}/schemas/plugins/validate`, {
      method: 'POST',
      ...json({ name: 'ai-proxy-advanced', config: { balancer: { algorithm: 'semantic' }, targets: [{ route_type: 'llm/v1/chat', model: { provider: 'openai', name: 'gpt-4o' } }] } }),
    });
    assert.equal(semantic.status, 400);
    assert.match(JSON.stringify(semantic.json().fields), /description/);
  });

  test('a valid config is stored with Kong defaults filled', async () => {
    const r = await send(`${h.admin}/config`, {
      method: 'POST',
      ...json({ _format_version: '3.0', plugins: [{ name: 'ai-proxy-advanced', config: { targets: [{ route_type: 'llm/v1/chat', model: { provider: 'openai', name: 'gpt-4o' } }] } }] }),
    });
    assert.equal(r.status, 201, JSON.stringify(r.json()));
    const config = (Object.values(r.json().plugins)[0] as { config: Record<string, any> }).config;
    assert.equal(config.balancer.algorithm, 'round-robin');
    assert.deepEqual(config.balancer.failover_criteria, ['error', 'timeout']);
    assert.equal(config.targets[0].weight, 100);
    assert.equal(config.response_streaming, 'allow');
  });
});

test('a declarative file with an invalid ai-proxy-advanced config fails start-up naming the field', async () => {
  const sockDir = mkdtempSync(path.join(os.tmpdir(), 'aipa-schema-'));
  try {
    await assert.rejects(
      startHarness({
        admin: false,
        plugins: [PROBE],
        extraSettings: aipaSettings(sockDir),
        config: {
          _format_version: '3.0',
          services: [{ name: 's', url: 'http://127.0.0.1:9', routes: [{ name: 'r', paths: ['/x'], plugins: [{ name: 'ai-proxy-advanced', config: ANTHROPIC_WITHOUT_VERSION }] }] }],
        },
      }),
      (e: Error) => /anthropic_version/.test(e.message) && /ai-proxy-advanced/.test(e.message),
    );
  } finally {
    rmSync(sockDir, { recursive: true, force: true });
  }
});
