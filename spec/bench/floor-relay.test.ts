/**
 * bench/floor-relay, the relay floor of `npm run bench -- stream`: through the real gateway and plugin server
 * (unix socket), each mode relays the provider's stream byte for byte, the ticket relay answers nothing without
 * a live ticket. What the bench measures must be a working relay.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pluginServers, startGateway, stopAll } from '../../bench/lib/procs';
import { openAiChatStream } from '../helpers/engine-upstream';

const FRAMES = openAiChatStream('gpt-4o-mini', ['one', ' two', ' three']);

describe('bench/floor-relay through the gateway and the plugin server', () => {
  let scratch: string;
  let provider: http.Server;
  let bodies: string[];
  let gw: string;
  let relayPort = 0;

  before(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'aipa-frelay-'));
    bodies = [];
    provider = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        bodies.push(`${req.method} ${req.url} ${body}`);
        if (req.url !== '/v1/chat/completions') return void res.writeHead(404).end();
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(FRAMES[0]);
        setTimeout(() => res.end(FRAMES.slice(1).join('')), 10);
      });
    });
    provider.listen(0, '127.0.0.1');
    await once(provider, 'listening');
    const port = (provider.address() as AddressInfo).port;
    const route = (mode: string): string => `
      - name: ${mode}
        paths: [/${mode}]
        plugins:
          - name: floor-relay
            config: { host: 127.0.0.1, port: ${port}, path: /v1/chat/completions, mode: ${mode} }`;
    writeFileSync(path.join(scratch, 'kong.yml'), `_format_version: "3.0"\nservices:\n  - name: s\n    url: http://127.0.0.1:9\n    routes:${route('ticket')}${route('early')}${route('ticketless')}\n`);
    const started = await startGateway(scratch, path.join(scratch, 'kong.yml'), { ...pluginServers(scratch), KONG_LOG_LEVEL: 'info' }, (text) => {
      const m = /floor-relay: ticket relay on 127\.0\.0\.1:(\d+)/.exec(text);
      if (m) relayPort = Number(m[1]);
    });
    gw = `http://127.0.0.1:${started.port}`;
  });

  after(async () => {
    stopAll();
    provider.closeAllConnections();
    provider.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  for (const mode of ['ticket', 'early', 'ticketless']) {
    test(`${mode}: the provider's stream reaches the client byte for byte, with the client's body`, async () => {
      const body = JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: mode }] });
      const r = await fetch(`${gw}/${mode}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(10_000) });
      assert.equal(r.status, 200);
      assert.match(String(r.headers.get('content-type')), /text\/event-stream/);
      assert.equal(await r.text(), FRAMES.join(''));
      assert.equal(bodies.at(-1), `POST /v1/chat/completions ${body}`);
    });
  }

  test('the ticket relay refuses a request without a live ticket (404), and the provider is not called', async () => {
    const deadline = Date.now() + 10_000;
    while (relayPort === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(relayPort > 0, 'the relay said where it listens');
    const calls = bodies.length;
    for (const p of ['/', '/0123456789abcdef0123456789abcdef', '/v1/chat/completions']) {
      const r = await fetch(`http://127.0.0.1:${relayPort}${p}`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(10_000) });
      assert.equal(r.status, 404, p);
      await r.text();
    }
    assert.equal(bodies.length, calls);
  });
});
