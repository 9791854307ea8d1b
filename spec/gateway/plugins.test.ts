import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, type Harness, startHarness } from '../helpers/gateway-harness';
import { send, startUpstream, type Upstream } from '../helpers/gateway-upstream';

/**
 * Plugins driven through the project's plugin server over real unix sockets, the way Kong drives them.
 * Plugin `hi` (priority 2000) runs before `lo` (priority 10).
 */
describe('plugins in the request path', () => {
  let h: Harness;
  let up: Upstream;
  let other: Upstream;
  before(async () => {
    up = await startUpstream();
    other = await startUpstream();
    const out = '__OUT__';
    h = await startHarness({
      plugins: [
        { name: 'hi', priority: 2000, phases: ['rewrite', 'access', 'log'] },
        { name: 'lo', priority: 10 },
        { name: 'buf', priority: 500, phases: ['access', 'response'] },
      ],
      config: {
        _format_version: '3.0',
        services: [
          {
            name: 'svc',
            url: up.url,
            plugins: [{ name: 'lo', config: { mode: 'exit', status: 202, out } }],
            routes: [
              { name: 'svc-level', paths: ['/svc'] },
              { name: 'route-level', paths: ['/route'], plugins: [{ name: 'lo', config: { mode: 'exit', status: 201, out } }] },
              { name: 'pass', paths: ['/pass'], plugins: [{ name: 'lo', config: { mode: 'none', out } }] },
              { name: 'captures', paths: ['~/cap/(?<word>[a-z]+)'], plugins: [{ name: 'lo', config: { mode: 'exit', out } }] },
              { name: 'retarget', paths: ['/retarget'], plugins: [{ name: 'lo', config: { mode: 'rewrite-upstream', port: other.port, path: '/new/path', out } }] },
              { name: 'retarget-odd', paths: ['/odd'], plugins: [{ name: 'lo', config: { mode: 'rewrite-upstream', port: other.port, path: '/new path/\u00fc', value: 'q=a b\r\nX-Injected: 1&k=%41', out } }] },
              { name: 'phase-error', paths: ['/phase-error'], plugins: [{ name: 'lo', config: { mode: 'phase-error', out } }] },
              { name: 'bad-args', paths: ['/bad-args'], plugins: [{ name: 'lo', config: { mode: 'bad-args', out } }] },
              { name: 'unknown', paths: ['/unknown'], plugins: [{ name: 'lo', config: { mode: 'unknown-method', out } }] },
              { name: 'error', paths: ['/error'], plugins: [{ name: 'lo', config: { mode: 'error', out } }] },
              { name: 'throw', paths: ['/throw'], plugins: [{ name: 'lo', config: { mode: 'throw', out } }] },
              { name: 'buffered', paths: ['/buffered'], plugins: [{ name: 'lo', config: { mode: 'none', out } }, { name: 'buf', config: { mode: 'none', out } }] },
              { name: 'wrapped', paths: ['/wrapped'], plugins: [{ name: 'lo', config: { mode: 'none', out } }, { name: 'buf', config: { mode: 'response-exit', out } }] },
            ],
          },
        ],
        plugins: [{ name: 'hi', config: { mode: 'pass', value: 'global', out } }],
      },
    });
  });
  after(async () => {
    await h.close();
    await up.close();
    await other.close();
  });

  test('a route plugin wins over the same plugin on the service, and the global plugin runs first', async () => {
    const svc = await send(`${h.proxy}/svc`, { headers: { 'X-Test': 'one' } });
    assert.equal(svc.status, 202);
    const route = await send(`${h.proxy}/route?a=1&a=2&flag`, { method: 'POST', body: 'payload', headers: { 'X-Test': 'two' } });
    assert.equal(route.status, 201);
    const seen = route.json();
    assert.equal(seen.plugin, 'lo');
    assert.equal(seen.method, 'POST');
    assert.equal(seen.path, '/route');
    // A flag argument is `true` → fix_mmap gives an empty table; the exit body is cjson-encoded, where an
    // empty table is {}.
    assert.deepEqual(seen.query, { a: ['1', '2'], flag: {} });
    assert.equal(seen.header, 'two');
    assert.equal(seen.body, 'payload');
    assert.equal(seen.route, 'route-level');
    // `hi` (priority 2000, global) ran before `lo` and left a value in kong.ctx.shared.
    assert.equal(seen.shared, 'hi');
    assert.equal(route.headers['x-probe'], 'lo');
    assert.equal(route.headers['x-before-exit'], 'kept');
    assert.equal(route.headers['x-resp-hi'], 'yes');
    assert.match(String(route.headers['x-kong-response-latency']), /^\d+$/);
    assert.equal(route.headers.via, undefined);
    assert.equal(route.headers['content-type'], 'application/json; charset=utf-8');
  });

  test('a body over client_body_buffer_size is nil for get_raw_body() without a size, a 500 as on Kong', async () => {
    const small = await send(`${h.proxy}/route`, { method: 'POST', body: 'x'.repeat(8192) });
    assert.equal(small.status, 201);
    const big = await send(`${h.proxy}/route`, { method: 'POST', body: 'x'.repeat(8193) });
    assert.equal(big.status, 500);
    assert.ok(h.logs.some((l) => l.includes("attempt to get length of local 'str'")));
  });

  test('uri captures reach the plugin as Kong shapes them', async () => {
    const r = await send(`${h.proxy}/cap/hello`);
    assert.deepEqual(r.json().captures, { unnamed: { '0': '/cap/hello', '1': 'hello' }, named: { word: 'hello' } });
  });

  test('a plugin that returns normally lets the request through with its header changes', async () => {
    const r = await send(`${h.proxy}/pass?q={a|b}^`);
    assert.equal(r.status, 200);
    // The client's own query goes on byte for byte, as Kong appends $args (kong/runloop/handler.lua).
    assert.equal(new URL(String(up.seen.at(-1)?.url), 'http://x').search, '?q={a|b}^');
    assert.equal(up.seen.at(-1)?.headers['x-probe-hi'], 'yes');
    assert.equal(r.headers['x-resp-hi'], 'yes');
    assert.match(String(r.headers.via), /kong/);
  });

  test('set_target, set_path, set_raw_query, set_method, set_raw_body and clear_header are honoured', async () => {
    const r = await send(`${h.proxy}/retarget/x?orig=1`, { method: 'POST', body: 'original', headers: { 'X-Remove-Me': 'a' } });
    assert.equal(r.status, 200);
    const seen = other.seen.at(-1);
    assert.equal(seen?.url, '/new/path?rewritten=1');
    assert.equal(seen?.method, 'PUT');
    assert.equal(seen?.body, 'replaced body');
    assert.equal(seen?.headers['x-remove-me'], undefined);
    assert.equal(seen?.headers.host, '127.0.0.1');
  });

  test("a path or raw query set with bytes a request line can't carry goes out percent-encoded as Kong's uri.escape does, not a 502 or a new header", async () => {
    const r = await send(`${h.proxy}/odd`, { method: 'POST', body: 'original' });
    assert.equal(r.status, 200);
    const seen = other.seen.at(-1);
    assert.equal(seen?.url, '/new%20path/%C3%BC?q=a%20b%0D%0AX-Injected:%201&k=%41');
    assert.equal(seen?.headers['x-injected'], undefined);
  });

  test("a PDK call outside its phases fails the access phase with Kong's 500 and no Step is sent", async () => {
    const r = await send(`${h.proxy}/phase-error`);
    assert.equal(r.status, 500);
    assert.deepEqual(r.json(), { message: 'An unexpected error occurred' });
    await eventually(() => h.logs.some((l) => l.includes('function cannot be called in access phase (only in: log)')));
    assert.ok(!h.events().some((e) => e.event === 'unreachable'));
  });

  test('bad arguments to kong.response.exit raise the Lua error text', async () => {
    const r = await send(`${h.proxy}/bad-args`);
    assert.equal(r.status, 500);
    await eventually(() => h.logs.some((l) => l.includes('code must be a number')));
  });

  test('an unknown PDK method answers nil and is logged', async () => {
    const r = await send(`${h.proxy}/unknown`);
    assert.deepEqual(r.json(), { result: 'undefined' });
    assert.ok(h.logs.some((l) => l.includes('could not find pdk method: kong.no.such.method')));
  });

  test('kong.response.error produces the Kong error body', async () => {
    const r = await send(`${h.proxy}/error`);
    assert.equal(r.status, 403);
    assert.equal(r.json().message, 'go away');
    assert.equal(r.json().request_id, r.headers['x-kong-request-id']);
  });

  test('an exception inside the plugin is a normal completion for Kong: the request is proxied', async () => {
    const r = await send(`${h.proxy}/throw`);
    assert.equal(r.status, 200);
    assert.equal(r.json().echo, '/');
  });

  test('a response handler buffers the service response and can read it, or replace it with exit', async () => {
    const r = await send(`${h.proxy}/buffered`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-response-phase'], '200');
    assert.equal(r.json().echo, '/');
    const w = await send(`${h.proxy}/wrapped`);
    assert.equal(w.status, 200);
    assert.equal(w.headers['x-wrapped'], 'yes');
    assert.equal(w.body, `wrapped:${JSON.stringify({ echo: '/', method: 'GET' })}`);
    assert.equal(w.headers['content-length'], String(Buffer.byteLength(w.body)));
  });

  test('the log phase runs after the response with saved status, headers, ctx.shared and serialize values', async () => {
    const r = await send(`${h.proxy}/route`, { headers: { 'X-Test': 'logged' } });
    assert.equal(r.status, 201);
    const rid = String(r.headers['x-kong-request-id']);
    const ev = await eventually(() =>
      h.events().find((e) => e.event === 'log' && e.plugin === 'hi' && (e.serialize as { request?: { id?: string } }).request?.id === rid),
    );
    assert.equal(ev.plugin, 'hi');
    assert.equal(ev.status, 201);
    assert.equal(ev.header, 'logged');
    assert.equal(ev.shared, 'hi');
    assert.equal(ev.resp_header, 'lo');
    const ser = ev.serialize as Record<string, any>;
    assert.equal(ser.probe.hi, 'global');
    assert.equal(ser.response.status, 201);
    assert.equal(ser.route.name, 'route-level');
    assert.equal(ser.request.headers['x-test'], 'logged');
  });

  test('global rewrite handlers run before routing, even when no route matches', async () => {
    const before = h.events().filter((e) => e.event === 'rewrite').length;
    const r = await send(`${h.proxy}/no-route-here`);
    assert.equal(r.status, 404);
    assert.equal(h.events().filter((e) => e.event === 'rewrite').length, before + 1);
  });

  test('StartInstance receives the config with defaults and Kong keys', async () => {
    const start = h.events().find((e) => e.event === 'start' && e.plugin === 'lo' && (e.conf as { mode?: string }).mode === 'exit' && (e.conf as { status?: number }).status === 201);
    assert.ok(start);
    const conf = start.conf as Record<string, unknown>;
    assert.deepEqual(conf.nested, { level: 3, label: null });
    assert.deepEqual(conf.tags_list, []);
    assert.equal(conf.secret, null);
    assert.equal(typeof conf.__plugin_id, 'string');
    assert.equal(typeof conf.__seq__, 'number');
    assert.equal(typeof conf.__key__, 'string');
    assert.equal(typeof conf.__ws_id, 'string');
    assert.equal(typeof conf.route_id, 'string');
    // A plugin nested under a route is scoped to the route only: no service_id key at all (cjson drops nil).
    assert.equal('service_id' in conf, false);
  });
});

describe('exit in the rewrite phase', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      plugins: [{ name: 'gate', priority: 5, phases: ['rewrite', 'access', 'log'] }],
      config: { _format_version: '3.0', routes: [{ name: 'r', paths: ['/'] }], plugins: [{ name: 'gate', config: { mode: 'rewrite-exit', out: '__OUT__' } }] },
    });
  });
  after(() => h.close());

  test('answers before routing and access, and the log phase still runs', async () => {
    const r = await send(`${h.proxy}/anything`);
    assert.equal(r.status, 401);
    assert.deepEqual(r.json(), { message: 'rewrite says no' });
    const log = await eventually(() => h.events().find((e) => e.event === 'log'));
    assert.equal(log.status, 401);
    assert.equal(h.events().filter((e) => e.event === 'access').length, 0);
  });
});
