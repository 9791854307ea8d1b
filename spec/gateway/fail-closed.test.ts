/**
 * Issue 11, fail closed: with its plugin server down, Kong (and the local gateway) proxies an
 * ai-proxy-advanced route to its service with the client's own key. Every shipped file must point that service
 * where nothing listens, and `npm run validate` must warn about a provider host there.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { PROJECT_ROOT } from '../../kong/gateway/settings';
import { checkDeckDocument, isProviderHost } from '../../schemas/deck';
import { startHarness } from '../helpers/gateway-harness';
import { send } from '../helpers/gateway-upstream';
import { makeTmpDir } from '../helpers/pluginserver-tmp';

const shipped = ['kong/kong.yml', ...readdirSync(path.join(PROJECT_ROOT, 'kong', 'deck')).filter((f) => f.endsWith('.yaml')).map((f) => `kong/deck/${f}`)];

const refused = (host: string, port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = net.createConnection({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });

for (const file of shipped) {
  test(`${file}: the ai-proxy-advanced service fails closed (nothing listens) and validate has no warning`, async () => {
    const doc = YAML.parse(readFileSync(path.join(PROJECT_ROOT, file), 'utf8').replace(/\$\{\{[^}]*\}\}/g, 'x')) as { services: Array<{ url: string }> };
    for (const svc of doc.services) {
      const u = new URL(svc.url);
      assert.equal(isProviderHost(u.hostname), false, svc.url);
      assert.equal(u.hostname, '127.0.0.1', svc.url);
      assert.ok(await refused(u.hostname, Number(u.port)), `${svc.url} accepts connections`);
    }
    assert.deepEqual(checkDeckDocument(doc).warnings, []);
  });
}

test('npm run validate warns (exit 0) when an ai-proxy-advanced route\'s service is a provider host', () => {
  const tmp = makeTmpDir('aipa-fc-');
  try {
    const doc = YAML.parse(readFileSync(path.join(PROJECT_ROOT, 'kong/kong.yml'), 'utf8')) as { services: Array<{ url: string }> };
    const cases: Array<[string, boolean]> = [
      ['https://api.openai.com', true],
      ['https://api.anthropic.com/v1', true],
      ['https://my-res.openai.azure.com', true],
      ['https://bedrock-runtime.us-east-1.amazonaws.com', true],
      ['http://127.0.0.1:9', false],
    ];
    for (const [url, warns] of cases) {
      doc.services[0]!.url = url;
      const file = path.join(tmp.dir, 'k.yml');
      writeFileSync(file, YAML.stringify(doc));
      const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'schemas', 'cli.js'), file], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(/warning: services\[0\] \(openai\): url points at the provider host/.test(r.stderr), warns, `${url}: ${r.stderr}`);
    }
    // A top-level route referring to the service by name, with the plugin on the route, is found too.
    const flat = { _format_version: '3.0', services: [{ name: 's', url: 'https://api.mistral.ai' }], routes: [{ name: 'r', service: 's', paths: ['/x'] }], plugins: [{ name: 'ai-proxy-advanced', route: 'r', config: {} }] };
    assert.equal(checkDeckDocument(flat).warnings.length, 1);
  } finally {
    tmp.cleanup();
  }
});

test('through the gateway with the plugin server gone, the shipped service URL answers 502 and nothing is forwarded', async () => {
  // No plugin on the route stands for "the plugin server is down": Kong then proxies to the service.
  const h = await startHarness({ config: { _format_version: '3.0', services: [{ name: 'openai', url: 'http://127.0.0.1:9', routes: [{ name: 'r', paths: ['/openai'] }] }] } });
  try {
    const r = await send(`${h.proxy}/openai`, { method: 'POST', headers: { Authorization: 'Bearer sk-client-key', 'Content-Type': 'application/json' }, body: '{"messages":[]}' });
    assert.equal(r.status, 502);
  } finally {
    await h.close();
  }
});
