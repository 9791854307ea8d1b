import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { eventually, type Harness, startHarness } from '../helpers/gateway-harness';
import { send, startUpstream, type Upstream } from '../helpers/gateway-upstream';

/** read_timeout timers the test fires itself: the gateway arms one per upstream attempt (GatewayOptions.readTimer). */
interface ManualTimer {
  ms: number;
  fire: () => void;
  live: boolean;
  refreshes: number;
}

describe('plain proxying', () => {
  let h: Harness;
  let up: Upstream;
  const timers: ManualTimer[] = [];
  const readTimer = (ms: number, fire: () => void): { refresh(): void; clear(): void } => {
    const t: ManualTimer = { ms, fire, live: true, refreshes: 0 };
    timers.push(t);
    return { refresh: () => void t.refreshes++, clear: () => void (t.live = false) };
  };
  before(async () => {
    up = await startUpstream((r, res) => {
      // /base/hang: the service never answers; /base/stall: it sends the head and one chunk, then goes silent.
      if (r.url.startsWith('/base/hang')) return;
      if (r.url.startsWith('/base/stall')) {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.write('first');
        return;
      }
      const body = JSON.stringify({ echo: r.url, method: r.method });
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-Upstream': 'yes', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
    h = await startHarness({
      config: {
        _format_version: '3.0',
        services: [
          {
            name: 'echo',
            url: `${up.url}/base`,
            routes: [
              { name: 'strip', paths: ['/strip'] },
              { name: 'keep', paths: ['/keep'], strip_path: false },
              { name: 'host', hosts: ['api.example.com'], preserve_host: true },
              { name: 'regex', paths: ['~/items/(?<id>\\d+)$'] },
              { name: 'post-only', paths: ['/post'], methods: ['POST'] },
            ],
          },
          { name: 'dead', url: 'http://127.0.0.1:1/', retries: 1, routes: [{ name: 'dead', paths: ['/dead'] }] },
          { name: 'slow', url: `${up.url}/base`, read_timeout: 150, routes: [{ name: 'slow', paths: ['/slow'] }] },
        ],
      },
      gatewayOptions: { readTimer },
    });
  });
  after(async () => {
    await h.close();
    await up.close();
  });

  test('forwards to the service with the route prefix stripped and Kong headers added', async () => {
    const r = await send(`${h.proxy}/strip/a/b?x=1`, { headers: { 'X-Forwarded-For': '10.0.0.9' } });
    assert.equal(r.status, 200);
    assert.equal(r.json().echo, '/base/a/b?x=1');
    assert.match(String(r.headers.via), /^1\.1 kong\/3\.9\.\d+$/);
    assert.match(String(r.headers['x-kong-upstream-latency']), /^\d+$/);
    assert.match(String(r.headers['x-kong-proxy-latency']), /^\d+$/);
    assert.match(String(r.headers['x-kong-request-id']), /^[0-9a-f]{32}$/);
    assert.equal(r.headers['x-upstream'], 'yes');
    const seen = up.seen.at(-1);
    assert.equal(seen?.headers['x-forwarded-for'], '10.0.0.9, 127.0.0.1');
    assert.equal(seen?.headers['x-forwarded-prefix'], '/strip');
    assert.equal(seen?.headers['x-forwarded-path'], '/strip/a/b');
    assert.equal(seen?.headers.host, `127.0.0.1:${up.port}`);
    assert.equal(seen?.headers['x-kong-request-id'], r.headers['x-kong-request-id']);
  });

  test("a client path cannot climb out of the service's path: the gateway sends it as routed, not URL-resolved", async () => {
    // A WHATWG URL parse turned `\\` into `/` and resolved `..`: `/strip/..\\..\\admin` reached the service as
    // `/admin`. The path now goes out as computed (nginx's $upstream_uri); the service's prefix stays in front.
    const { hostname, port } = new URL(h.proxy);
    // The raw path, as a client can send it (a URL string would be resolved by the client itself).
    const echo = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: hostname, port, path: '/strip/..\\..\\admin', agent: false, timeout: 10_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve(res.statusCode === 200 ? (JSON.parse(body) as { echo: string }).echo : `status ${res.statusCode}`));
      });
      req.on('timeout', () => req.destroy(new Error('no answer in 10 s'))).on('error', reject).end();
    });
    assert.equal(echo, '/base/..\\..\\admin');
  });

  test('keeps the path when strip_path is false and the Host when preserve_host is true', async () => {
    const keep = await send(`${h.proxy}/keep/z`);
    assert.equal(keep.json().echo, '/base/keep/z');
    const host = await send(`${h.proxy}/anything`, { headers: { Host: 'api.example.com' } });
    assert.equal(host.status, 200);
    assert.equal(up.seen.at(-1)?.headers.host, 'api.example.com');
  });

  test('matches regex paths and methods', async () => {
    assert.equal((await send(`${h.proxy}/items/42`)).json().echo, '/base');
    assert.equal((await send(`${h.proxy}/items/x`)).status, 404);
    assert.equal((await send(`${h.proxy}/post`, { method: 'POST', body: 'hi' })).status, 200);
    assert.equal(up.seen.at(-1)?.body, 'hi');
    assert.equal((await send(`${h.proxy}/post`)).status, 404);
  });

  test("answers Kong's 404 when no route matches", async () => {
    const r = await send(`${h.proxy}/nowhere`);
    assert.equal(r.status, 404);
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(r.json().message, 'no Route matched with those values');
    assert.equal(r.json().request_id, r.headers['x-kong-request-id']);
    assert.match(String(r.headers.server), /^kong\//);
    assert.match(String(r.headers['x-kong-response-latency']), /^\d+$/);
  });

  test("the service's read_timeout gives Kong's 504 when it fires, and cuts a body that stalls", async () => {
    // The service never answers: the gateway waits on a 150 ms read timer (the service's read_timeout) and
    // answers nothing until it fires.
    let settled = false;
    const hang = send(`${h.proxy}/slow/hang`).finally(() => (settled = true));
    const t = await eventually(() => up.seen.some((r) => r.url === '/base/hang') && timers.find((x) => x.live && x.ms === 150));
    assert.equal(settled, false, 'no answer before read_timeout elapsed');
    t.fire();
    const r = await hang;
    assert.equal(r.status, 504);
    assert.equal(r.json().message, 'The upstream server is timing out');
    assert.equal(t.live, false, 'the timer is released');

    // The head and one chunk arrive (the timer restarts), then the service goes silent: firing cuts the body.
    const stall = send(`${h.proxy}/slow/stall`);
    const s = await eventually(() => up.seen.some((x) => x.url === '/base/stall') && timers.find((x) => x.live && x.ms === 150 && x.refreshes > 0));
    s.fire();
    await assert.rejects(stall, 'the client sees the stalled body cut');
  });

  test('gives 502 when the service cannot be reached, after the retries', async () => {
    const r = await send(`${h.proxy}/dead`);
    assert.equal(r.status, 502);
    assert.equal(r.json().message, 'An invalid response was received from the upstream server');
    await eventually(() => h.logs.some((l) => l.includes('while connecting to upstream')));
  });
});

describe('bad requests and unroutable configuration', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { _format_version: '3.0', routes: [{ name: 'no-service', paths: ['/lonely'] }, { name: 'tls-only', paths: ['/secure'], protocols: ['https'] }] } });
  });
  after(() => h.close());

  test('malformed HTTP gets a 400 and the gateway keeps serving', async () => {
    const net = await import('node:net');
    const url = new URL(h.proxy);
    const reply = await new Promise<string>((resolve) => {
      const s = net.createConnection(Number(url.port), url.hostname, () => s.write('NOT HTTP AT ALL\r\n\r\n'));
      let data = '';
      s.on('data', (c: Buffer) => (data += c.toString()));
      s.on('close', () => resolve(data));
    });
    assert.match(reply, /^HTTP\/1\.1 400/);
    assert.equal((await send(`${h.proxy}/nowhere`)).status, 404);
  });

  test('a route without a service answers 503 and an https-only route asks for HTTPS', async () => {
    const lonely = await send(`${h.proxy}/lonely`);
    assert.equal(lonely.status, 503);
    assert.equal(lonely.json().message, 'no Service found with those values');
    const secure = await send(`${h.proxy}/secure`);
    assert.equal(secure.status, 426);
    assert.equal(secure.json().message, 'Please use HTTPS protocol');
  });

  test('routes and services for protocols the local gateway cannot serve are refused by name', async () => {
    const r = await send(`${h.admin}/routes`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ protocols: ['grpc'], paths: ['/g'] }) });
    assert.equal(r.status, 400);
    assert.match(r.json().message, /protocol 'grpc' is not supported by the local gateway/);
    const s = await send(`${h.admin}/services`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ url: 'tcp://x.test:9000' }) });
    assert.match(s.json().fields.protocol, /protocol 'tcp' is not supported/);
  });
});

describe('streaming responses', () => {
  let h: Harness;
  let up: Upstream;
  let release: () => void = () => undefined;
  before(async () => {
    up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write('data: first\n\n');
      release = () => res.end('data: [DONE]\n\n');
    });
    h = await startHarness({ config: { _format_version: '3.0', services: [{ name: 'sse', url: up.url, routes: [{ name: 'sse', paths: ['/sse'] }] }] } });
  });
  after(async () => {
    await h.close();
    await up.close();
  });

  test('reach the client as the service sends them, without buffering', async () => {
    const http = await import('node:http');
    const chunks: string[] = [];
    await new Promise<void>((resolve, reject) => {
      http
        .get(`${h.proxy}/sse`, (res) => {
          assert.equal(res.headers['content-type'], 'text/event-stream');
          res.on('data', (c: Buffer) => {
            chunks.push(c.toString());
            // The first event arrived while the service still holds the stream open.
            if (chunks.length === 1) release();
          });
          res.on('end', () => resolve());
        })
        .on('error', reject);
    });
    assert.equal(chunks[0], 'data: first\n\n');
    assert.equal(chunks.join(''), 'data: first\n\ndata: [DONE]\n\n');
  });
});
