/** The gateway's PDK functions, called as mp_rpc's call_pdk_method would call them, phase by phase. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { EXIT } from '../../kong/rpc';
import { createLogger } from '../../kong/gateway/log';
import { callPdk } from '../../kong/gateway/pdk';
import { LuaError } from '../../kong/gateway/pdk/phase-check';
import { luaNumber } from '../../kong/gateway/pdk/values';
import { createContext } from '../../kong/gateway/proxy/handler';
import type { Phase, RequestContext } from '../../kong/gateway/proxy/context';

const logs: string[] = [];
const env = { logger: createLogger('debug', (l) => logs.push(l)), nodeId: 'node-1', pluginName: 'p', pluginId: 'pid-1' };

function ctx(phase: Phase, headers: Record<string, string[]> = { host: ['api.test'], 'x-a': ['1', '2'] }): RequestContext {
  const req = {
    url: '/a%2Fb/c?x=1&x=2&flag',
    method: 'POST',
    httpVersion: '1.1',
    headers: { host: headers.host?.[0] },
    // What Node's parser keeps: [name, value, ...] as received.
    rawHeaders: Object.entries(headers).flatMap(([k, vs]) => vs.flatMap((v) => [k, v])),
    socket: { localPort: 8000, remoteAddress: '::ffff:10.1.2.3', remotePort: 5555 },
  } as unknown as IncomingMessage;
  const c = createContext(req, 8192);
  c.phase = phase;
  c.body = Buffer.from('{"k":"v"}');
  c.requestHeaders.set('content-type', ['application/json']);
  return c;
}

const call = (c: RequestContext, method: string, ...args: unknown[]): unknown => callPdk(env, c, method, args);

test('request getters return the first Lua value in Kong shapes', () => {
  const c = ctx('access');
  assert.equal(call(c, 'kong.request.get_method'), 'POST');
  assert.equal(call(c, 'kong.request.get_host'), 'api.test');
  assert.equal(call(c, 'kong.request.get_raw_query'), 'x=1&x=2&flag');
  assert.deepEqual(call(c, 'kong.request.get_query'), { x: ['1', '2'], flag: true });
  assert.equal(call(c, 'kong.request.get_query_arg', 'x'), '1');
  assert.equal(call(c, 'kong.request.get_header', 'X_A'), '1');
  assert.deepEqual((call(c, 'kong.request.get_headers') as Record<string, unknown>)['x-a'], ['1', '2']);
  assert.deepEqual(call(c, 'kong.request.get_body'), { k: 'v' });
  assert.ok(Buffer.isBuffer(call(c, 'kong.request.get_raw_body')));
  assert.equal(call(c, 'kong.client.get_ip'), '10.1.2.3');
});

test("phase checks raise Kong's exact error text", () => {
  const log = ctx('log');
  assert.throws(() => call(log, 'kong.request.get_raw_body'), new LuaError('function cannot be called in log phase (only in: rewrite, access, response, error, admin_api)'));
  assert.throws(() => call(log, 'kong.service.set_target', 'h', 1), new LuaError('function cannot be called in log phase (only in: rewrite, access, balancer, preread)'));
  assert.throws(
    () => call(log, 'kong.response.exit', 200),
    new LuaError('function cannot be called in log phase (only in: rewrite, access, balancer, response, header_filter, error, admin_api)'),
  );
  assert.throws(() => call(ctx('access'), 'kong.log.serialize'), new LuaError('function cannot be called in access phase (only in: log)'));
  assert.throws(() => call(ctx('access'), 'kong.response.get_raw_body'), /only in: body_filter/);
  assert.throws(() => call(ctx('rewrite'), 'kong.router.get_route'), new LuaError('function cannot be called in rewrite phase (only in: access, response, header_filter, body_filter, log)'));
});

test('in the log timer, ngx.var-based functions are disabled and saved data is used', () => {
  const c = ctx('log');
  c.saved = { serializeData: { request: { id: 'r1' } }, requestHeaders: { 'x-a': ['1', '2'] }, responseHeaders: { 'x-b': 'b' }, responseStatus: 418, reqStartTime: 1 };
  assert.throws(() => call(c, 'kong.request.get_path'), new LuaError('API disabled in the context of ngx.timer'));
  assert.throws(() => call(c, 'kong.nginx.get_var', 'uri'), /API disabled/);
  assert.equal(call(c, 'kong.request.get_header', 'x-a'), '1');
  assert.equal(call(c, 'kong.response.get_status'), 418);
  assert.equal(call(c, 'kong.response.get_header', 'X-B'), 'b');
  assert.equal(call(c, 'kong.log.serialize'), '{"request":{"id":"r1"}}');
});

test('exit stores the response and ends the handler; arguments are checked as Kong does', () => {
  const c = ctx('access');
  call(c, 'kong.response.set_header', 'X-Early', 'yes');
  assert.equal(call(c, 'kong.response.exit', 429, { error: { message: 'slow down', path: '/a/b' } }, { 'Retry-After': 3 }), EXIT);
  assert.equal(c.delayed?.status, 429);
  assert.equal(c.delayed?.body.toString(), '{"error":{"message":"slow down","path":"\\/a\\/b"}}');
  assert.deepEqual(c.delayed?.headers.get('retry-after'), ['3']);
  assert.deepEqual(c.delayed?.headers.get('x-early'), ['yes']);
  assert.deepEqual(c.delayed?.headers.get('content-type'), ['application/json; charset=utf-8']);
  assert.throws(() => call(ctx('access'), 'kong.response.exit', 'x'), new LuaError('code must be a number'));
  assert.throws(() => call(ctx('access'), 'kong.response.exit', 700), new LuaError('code must be a number between 100 and 599'));
  assert.throws(() => call(ctx('access'), 'kong.response.exit', 200, 5), new LuaError('body must be a nil, string or table'));
  assert.throws(() => call(ctx('access'), 'kong.response.error', 200), new LuaError('code must be a number between 400 and 599'));
  assert.throws(() => call(ctx('access'), 'kong.response.set_header', 'X', {}), /invalid header value for "X": got table/);
});

test('service setters validate like Kong and change what is sent upstream', () => {
  const c = ctx('access');
  assert.throws(() => call(c, 'kong.service.set_target', 1, 80), new LuaError('host must be a string'));
  assert.throws(() => call(c, 'kong.service.set_target', 'h', 8.5), new LuaError('port must be an integer'));
  assert.throws(() => call(c, 'kong.service.set_target', 'h', 70000), new LuaError('port must be an integer between 0 and 65535: given 70000'));
  call(c, 'kong.service.set_target', '10.0.0.1', 9000);
  assert.equal(c.upstream.host, '10.0.0.1');
  assert.equal(c.upstream.hostHeader, '10.0.0.1');
  assert.throws(() => call(c, 'kong.service.request.set_scheme', 'ftp'), new LuaError('invalid scheme: ftp'));
  // set_query as make_ordered_args (kong/pdk/service/request.lua): ngx.encode_args per key escapes all but
  // ALPHA DIGIT -._~ (so `!'()*` too), drops false, and the encoded pieces are sorted as text. A false-only key
  // is an empty piece that still takes its `&`, first after the sort: Kong sends a leading `&` then.
  call(c, 'kong.service.request.set_query', { b: ["it's", true], 'a b': '(x)*!', a: 'y', n: 3 });
  assert.equal(c.upstream.rawQuery, "a%20b=%28x%29%2A%21&a=y&b=it%27s&b&n=3");
  call(c, 'kong.service.request.set_query', { a: 'y', off: false });
  assert.equal(c.upstream.rawQuery, '&a=y');
  // A msgpack nil is no entry in the Lua table (no piece at all); numbers are written as LuaJIT's tostring (%.14g);
  // a table value is ngx.encode_args's error.
  call(c, 'kong.service.request.set_query', { gone: null, f: 0.1 + 0.2, big: 1e20, tiny: 0.00001, i: 12, list: ['x', null, 2.5] });
  assert.equal(c.upstream.rawQuery, 'big=1e%2B20&f=0.3&i=12&list=x&list=2.5&tiny=1e-05');
  assert.throws(() => call(c, 'kong.service.request.set_query', { a: { b: 1 } }), new LuaError('attempt to use table as query arg value'));
  assert.throws(() => call(c, 'kong.service.request.set_raw_body', 12), new LuaError('body must be a string'));
  call(c, 'kong.service.request.set_raw_body', Buffer.from([0, 255]));
  assert.deepEqual([...(c.upstream.body ?? [])], [0, 255]);
  assert.throws(() => call(ctx('access'), 'kong.service.response.get_raw_body'), /only in: response, header_filter, body_filter, log/);
  const r = ctx('response');
  assert.throws(() => call(r, 'kong.service.response.get_raw_body'), new LuaError('service body is only available with buffered proxying'));
});

test('numbers in query args are written as LuaJIT writes them (%.14g)', () => {
  const cases: Array<[number, string]> = [
    [3, '3'], [-7, '-7'], [0, '0'], [-0, '-0'], [0.5, '0.5'], [0.1 + 0.2, '0.3'], [1 / 3, '0.33333333333333'],
    [1e14, '1e+14'], [99999999999999, '99999999999999'], [123456789012345, '1.2345678901234e+14'], [1e20, '1e+20'],
    [0.0001, '0.0001'], [0.00001, '1e-05'], [1.5e-300, '1.5e-300'], [2 ** 53, '9.007199254741e+15'],
    [Infinity, 'inf'], [-Infinity, '-inf'], [NaN, 'nan'], [9.99999999999999, '10'], [-2.5e-7, '-2.5e-07'], [-1234.5, '-1234.5'], [0.000123, '0.000123'],
    [12345678901234.5, '12345678901234'], [12345678901235.5, '12345678901236'],
  ];
  for (const [x, want] of cases) assert.equal(luaNumber(x), want, String(x));
});

test('luaNumber agrees with C\'s %.14g (the format LuaJIT\'s tostring follows) on 3000 generated doubles', (t) => {
  const lua = ['lua5.1', 'luajit', 'lua'].find((bin) => spawnSync(bin, ['-v']).status === 0);
  if (lua === undefined) return t.skip('no Lua interpreter on this machine (.ci/run installs lua5.1)');
  const xs = fc.sample(
    fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.maxSafeInteger(),
      // Exact ties at the 15th digit: x.5 with 14 integer digits.
      fc.integer({ min: 1e13, max: 1e14 - 1 }).map((n) => n + 0.5),
      fc.double({ min: -1e6, max: 1e6, noNaN: true }),
    ),
    { numRuns: 3000, seed: 42 },
  ).filter((x) => x !== 0);
  const script = 'for line in io.lines() do io.write(string.format("%.14g", tonumber(line)), "\\n") end';
  const r = spawnSync(lua, ['-e', script], { input: xs.map((x) => x.toPrecision(17)).join('\n') + '\n', encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  const want = r.stdout.trimEnd().split('\n');
  assert.equal(want.length, xs.length);
  xs.forEach((x, i) => assert.equal(luaNumber(x), want[i], x.toPrecision(17)));
});

test('set_serialize_value nests dotted keys and honours the modes', () => {
  const c = ctx('access');
  call(c, 'kong.log.set_serialize_value', 'ai.proxy.usage.total_tokens', 12);
  call(c, 'kong.log.set_serialize_value', 'ai.proxy.usage.total_tokens', 99, { mode: 'add' });
  call(c, 'kong.log.set_serialize_value', 'ai.missing', 1, { mode: 'replace' });
  assert.deepEqual(c.serializeValues, { ai: { proxy: { usage: { total_tokens: 12 } } } });
  assert.throws(() => call(c, 'kong.log.set_serialize_value', 1, 2), new LuaError('key must be a string'));
  assert.throws(() => call(c, 'kong.log.set_serialize_value', 'k', 1, { mode: 'merge' }), new LuaError("mode must be 'set', 'add' or 'replace'"));
});

test('an unknown method answers nil and logs "could not find pdk method"', () => {
  assert.equal(call(ctx('access'), 'kong.nope.nothing', 1), undefined);
  assert.ok(logs.some((l) => l.includes('could not find pdk method: kong.nope.nothing')));
});

test("a method named like an Object.prototype key is unknown too (the plugin server names the method; 'constructor' had called Object(ctx) and answered the request context)", () => {
  for (const m of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
    assert.equal(call(ctx('access'), m), undefined, m);
    assert.ok(logs.some((l) => l.includes(`could not find pdk method: ${m}`)), m);
  }
});

test("names the plugin server sends are looked up as own keys only: get_var, ctx.shared, get_ctx, get_query_arg ('constructor' had answered the request context or Object)", () => {
  const c = ctx('access');
  for (const k of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    assert.equal(call(c, 'kong.nginx.get_var', k), undefined, `get_var ${k}`);
    assert.equal(call(c, 'kong.ctx.shared.get', k), undefined, `ctx.shared.get ${k}`);
    assert.equal(call(c, 'kong.nginx.get_ctx', k), undefined, `get_ctx ${k}`);
    assert.equal(call(c, 'kong.request.get_query_arg', k), undefined, `get_query_arg ${k}`);
  }
  // A store under '__proto__' is a key, as in a Lua table, not the object's prototype.
  call(c, 'kong.ctx.shared.set', '__proto__', { leaked: 1 });
  assert.deepEqual(call(c, 'kong.ctx.shared.get', '__proto__'), { leaked: 1 });
  assert.equal(call(c, 'kong.ctx.shared.get', 'leaked'), undefined);
  call(c, 'kong.nginx.set_ctx', '__proto__', { leaked: 2 });
  assert.deepEqual(call(c, 'kong.nginx.get_ctx', '__proto__'), { leaked: 2 });
  assert.equal(call(c, 'kong.nginx.get_ctx', 'leaked'), undefined);
  // Ordinary keys still work.
  call(c, 'kong.ctx.shared.set', 'k', 'v');
  assert.equal(call(c, 'kong.ctx.shared.get', 'k'), 'v');
  assert.equal(call(c, 'kong.nginx.get_var', 'request_uri'), '/a%2Fb/c?x=1&x=2&flag');
  assert.equal(call(c, 'kong.request.get_query_arg', 'x'), '1');
});
