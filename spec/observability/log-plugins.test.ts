/**
 * The local gateway's own file-log, http-log and prometheus: Kong's schemas through the Admin API (defaults, field
 * errors, Lua refused), Kong's entry shape for a plain proxied request, http-log never holding up the proxy when
 * its endpoint hangs (the queue stays bounded), and GET /metrics only when prometheus is enabled.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually, startHarness, type Harness } from '../helpers/gateway-harness';
import { send, startUpstream, type Upstream } from '../helpers/gateway-upstream';

let up: Upstream;
let h: Harness;
let hang: http.Server;
const hangSockets = new Set<Socket>();
let hangHits = 0;

const json = (body: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const BASE = {
  _format_version: '3.0',
  services: [{ name: 'echo', url: '__UP__', routes: [{ name: 'plain', paths: ['/plain'] }, { name: 'stuck', paths: ['/stuck'] }] }],
};
const added: Array<Record<string, unknown>> = [];

/** The gateway is DB-less (entity writes are 405s): a plugin is added by POSTing the whole config with it. */
async function addPlugin(plugin: Record<string, unknown>): Promise<{ status: number; body: string; plugin?: Record<string, any> }> {
  const doc = JSON.parse(JSON.stringify(BASE).replaceAll('__UP__', up.url));
  const r = await send(`${h.admin}/config`, { method: 'POST', ...json({ ...doc, plugins: [...added, plugin] }) });
  if (r.status !== 201) return { status: r.status, body: r.body };
  added.push(plugin);
  const stored = Object.values(r.json().plugins as Record<string, Record<string, any>>).find((p) => p.name === plugin.name);
  return { status: r.status, body: r.body, plugin: stored };
}

before(async () => {
  up = await startUpstream();
  // An http-log endpoint that accepts and never answers.
  hang = http.createServer(() => void hangHits++);
  hang.on('connection', (s) => {
    hangSockets.add(s);
    s.on('close', () => hangSockets.delete(s));
  });
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', () => r()));
  h = await startHarness({ config: JSON.parse(JSON.stringify(BASE).replaceAll('__UP__', up.url)) });
});
after(async () => {
  for (const s of hangSockets) s.destroy();
  await h?.close();
  await up?.close();
  await new Promise<void>((r) => hang.close(() => r()));
});

describe('Kong schemas through the Admin API', () => {
  test('defaults filled as Kong does (http-log queue record, prometheus switches)', async () => {
    const r = await addPlugin({ name: 'prometheus', config: { ai_metrics: true } });
    assert.equal(r.status, 201, r.body);
    assert.deepEqual(r.plugin?.config, {
      per_consumer: false, status_code_metrics: false, ai_metrics: true, latency_metrics: false, bandwidth_metrics: false, upstream_health_metrics: false, wasm_metrics: false,
    });
    const s = await send(`${h.admin}/schemas/plugins/http-log`);
    assert.equal(s.status, 200);
    assert.match(s.body, /"max_retry_time"/);
  });

  test('bad configs are 400s naming the field', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ name: 'file-log', config: {} }, /"path":"required field missing"/],
      [{ name: 'file-log', config: { path: '/tmp/a*b' } }, /"path"/],
      [{ name: 'file-log', config: { path: '/tmp/x.log', custom_fields_by_lua: { a: 'return 1' } } }, /custom_fields_by_lua/],
      [{ name: 'http-log', config: { http_endpoint: 'ftp://x/y' } }, /http_endpoint/],
      [{ name: 'http-log', config: { http_endpoint: 'http://x/y', headers: { Host: 'evil' } } }, /cannot contain 'Host' header/],
      [{ name: 'http-log', config: { http_endpoint: 'http://x/y', method: 'GET' } }, /"method":"expected one of: POST, PUT, PATCH"/],
      [{ name: 'prometheus', config: { ai_metrics: 'yes' } }, /"ai_metrics":"expected a boolean"/],
    ];
    for (const [body, re] of cases) {
      const r = await send(`${h.admin}/schemas/plugins/validate`, { method: 'POST', ...json(body) });
      assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.status} ${r.body}`);
      assert.match(r.body, re);
    }
  });
});

describe('entries and metrics for a plain proxied request', () => {
  test("file-log writes Kong's serialize() shape; GET /metrics counts it", async () => {
    const file = path.join(h.dir, 'plain.log');
    const p = await addPlugin({ name: 'file-log', route: 'plain', config: { path: file } });
    assert.equal(p.status, 201, p.body);
    await addPlugin({ name: 'prometheus', route: 'plain', config: { status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true } });
    const r = await send(`${h.proxy}/plain/x?q=1`);
    assert.equal(r.status, 200);
    // Only whole lines: the file can exist, or hold half a line, before the write completes.
    const firstLine = (): string | undefined => {
      const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
      return text.includes('\n') ? text.slice(0, text.indexOf('\n')) : undefined;
    };
    const entry = JSON.parse(await eventually(firstLine)) as Record<string, any>;
    assert.equal(entry.request.id, r.headers['x-kong-request-id']);
    assert.equal(entry.route.name, 'plain');
    assert.equal(entry.service.name, 'echo');
    assert.equal(entry.response.status, 200);
    assert.equal(typeof entry.latencies.request, 'number');
    assert.equal(entry.ai, undefined);
    const m = await send(`${h.admin}/metrics`);
    assert.equal(m.status, 200);
    assert.match(String(m.headers['content-type']), /^text\/plain/);
    assert.match(m.body, /kong_http_requests_total\{service="echo",route="plain",code="200",source="service",workspace="default",consumer=""\} 1/);
    assert.match(m.body, /kong_request_latency_ms_bucket\{le="25",service="echo",route="plain",workspace="default"\}/);
    assert.match(m.body, /kong_bandwidth_bytes\{service="echo",route="plain",direction="egress",workspace="default",consumer=""\} \d+/);
  });

  test('http-log to an endpoint that never answers: every request is proxied and the queue stays bounded', async () => {
    const port = (hang.address() as AddressInfo).port;
    const p = await addPlugin({ name: 'http-log', route: 'stuck', config: { http_endpoint: `http://127.0.0.1:${port}/logs`, queue: { max_entries: 5, max_coalescing_delay: 0 } } });
    assert.equal(p.status, 201, p.body);
    for (let i = 0; i < 30; i++) {
      const r = await send(`${h.proxy}/stuck/${i}`);
      assert.equal(r.status, 200);
    }
    await eventually(() => hangHits >= 1);
    assert.ok(h.logs.some((l) => /queue http-log http:\/\/127\.0\.0\.1:\d+\/logs: queue full, dropping the oldest entry/.test(l)), 'drops are logged');
    assert.equal(hangHits, 1, 'one batch in flight at a time (concurrency_limit 1)');
  });

  test("http-log sends as Kong's: method, content type, headers, and URL credentials as Basic auth", async () => {
    const got: Array<{ method?: string; url?: string; auth?: string; type?: string; custom?: string; body: string }> = [];
    const sinkSrv = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        got.push({ method: req.method, url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], custom: req.headers['x-custom'] as string | undefined, body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => sinkSrv.listen(0, '127.0.0.1', () => r()));
    const port = (sinkSrv.address() as AddressInfo).port;
    const g = await startHarness({
      config: {
        _format_version: '3.0',
        services: [{ name: 'echo', url: up.url, routes: [{ name: 'sent', paths: ['/sent'] }] }],
        plugins: [
          {
            name: 'http-log',
            config: { http_endpoint: `http://u:p%40ss@127.0.0.1:${port}/in?k=v`, method: 'PUT', content_type: 'application/json; charset=utf-8', headers: { 'X-Custom': 'yes' }, queue: { max_coalescing_delay: 0 } },
          },
        ],
      },
    });
    try {
      assert.equal((await send(`${g.proxy}/sent`)).status, 200);
      await eventually(() => got.length >= 1);
      const [r] = got;
      assert.equal(r?.method, 'PUT');
      assert.equal(r?.url, '/in?k=v');
      assert.equal(r?.auth, `Basic ${Buffer.from('u:p@ss').toString('base64')}`);
      assert.equal(r?.type, 'application/json; charset=utf-8');
      assert.equal(r?.custom, 'yes');
      assert.equal((JSON.parse(r?.body ?? '{}') as { route?: { name?: string } }).route?.name, 'sent');
    } finally {
      await g.close();
      await new Promise<void>((r) => sinkSrv.close(() => r()));
    }
  });

  test('close() with a failing http-log endpoint ends within the drain: the retry back-off is cut short', async () => {
    let hits = 0;
    const failing = http.createServer((req, res) => {
      hits++;
      req.resume();
      req.on('end', () => res.writeHead(500).end());
    });
    await new Promise<void>((r) => failing.listen(0, '127.0.0.1', () => r()));
    const port = (failing.address() as AddressInfo).port;
    const g = await startHarness({
      config: {
        _format_version: '3.0',
        services: [{ name: 'echo', url: up.url, routes: [{ name: 'failing', paths: ['/failing'] }] }],
        plugins: [{ name: 'http-log', config: { http_endpoint: `http://127.0.0.1:${port}/logs`, queue: { max_coalescing_delay: 0, initial_retry_delay: 60, max_retry_delay: 60 } } }],
      },
    });
    try {
      assert.equal((await send(`${g.proxy}/failing`)).status, 200);
      // The first POST failed: the batch now sits in its 60 s back-off.
      await eventually(() => g.logs.some((l) => /handler could not process entries/.test(l)));
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), 8000)));
      const r = await Promise.race([g.close(), late]);
      clearTimeout(timer);
      assert.notEqual(r, 'late', 'close() waited for the back-off');
      assert.equal(hits, 2, 'one last try when closing');
      assert.ok(g.logs.some((l) => /1 queue entries were lost/.test(l)), 'the dropped entry is reported');
    } finally {
      await new Promise<void>((r) => failing.close(() => r()));
    }
  });
});
