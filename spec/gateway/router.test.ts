import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizePath, Router, upstreamUri } from '../../kong/gateway/router';
import type { Entity } from '../../kong/gateway/store';

let n = 0;
function route(fields: Record<string, unknown>): Entity {
  n++;
  return { id: `r${n}`, name: `r${n}`, strip_path: true, protocols: ['http', 'https'], regex_priority: 0, service: null, ...fields } as Entity;
}

function pick(routes: Entity[], req: Partial<{ method: string; host: string; path: string; headers: Record<string, string> }>): string | undefined {
  const r = new Router({ services: [], routes, plugins: [] });
  return r.match({ method: 'GET', host: 'localhost', path: '/', headers: {}, ...req })?.route.name as string | undefined;
}

test('the longer prefix wins, whatever the order of definition', () => {
  const routes = [route({ name: 'short', paths: ['/a'] }), route({ name: 'long', paths: ['/a/b'] })];
  assert.equal(pick(routes, { path: '/a/b/c' }), 'long');
  assert.equal(pick(routes, { path: '/a/x' }), 'short');
  assert.equal(pick(routes, { path: '/ab' }), 'short', 'prefixes are string prefixes');
});

test('a route with more match criteria wins over a route with fewer', () => {
  const routes = [route({ name: 'path', paths: ['/api/v1/long'] }), route({ name: 'path+method', paths: ['/api'], methods: ['GET'] })];
  assert.equal(pick(routes, { path: '/api/v1/long' }), 'path+method');
  assert.equal(pick(routes, { path: '/api/v1/long', method: 'POST' }), 'path');
});

test('regex paths beat prefix paths and order by regex_priority', () => {
  const routes = [
    route({ name: 'prefix', paths: ['/users/123'] }),
    route({ name: 'low', paths: ['~/users/\\d+$'], regex_priority: 1 }),
    route({ name: 'high', paths: ['~/users/(?<id>\\d+)$'], regex_priority: 5 }),
  ];
  assert.equal(pick(routes, { path: '/users/123' }), 'high');
  const r = new Router({ services: [], routes, plugins: [] }).match({ method: 'GET', host: '', path: '/users/7', headers: {} });
  assert.deepEqual(r?.captures, { unnamed: { '0': '/users/7', '1': '7' }, named: { id: '7' } });
  assert.equal(r?.prefix, '/users/7');
});

test('plain hosts beat wildcard hosts; ports compare only when the route names one', () => {
  const routes = [route({ name: 'wild', hosts: ['*.example.com'] }), route({ name: 'plain', hosts: ['api.example.com'] }), route({ name: 'port', hosts: ['p.test:8000'] })];
  assert.equal(pick(routes, { host: 'api.example.com:8000' }), 'plain');
  assert.equal(pick(routes, { host: 'x.example.com' }), 'wild');
  assert.equal(pick(routes, { host: 'example.com' }), undefined);
  assert.equal(pick(routes, { host: 'p.test:8000' }), 'port');
  assert.equal(pick(routes, { host: 'p.test:9000' }), undefined);
});

test('headers match case-insensitively, or by regex with ~*', () => {
  const routes = [route({ name: 'h', headers: { 'x-version': ['V2'] } }), route({ name: 'rx', headers: { 'x-env': ['~*^prod-\\d$'] } })];
  assert.equal(pick(routes, { headers: { 'x-version': 'v2' } }), 'h');
  assert.equal(pick(routes, { headers: { 'x-env': 'PROD-1' } }), 'rx');
  assert.equal(pick(routes, { headers: { 'x-env': 'dev' } }), undefined);
});

test('routes of a disabled service are not routable', () => {
  const svc = { id: 's1', enabled: false } as Entity;
  const r = new Router({ services: [svc], routes: [route({ name: 'off', paths: ['/'], service: { id: 's1' } })], plugins: [] });
  assert.equal(r.match({ method: 'GET', host: '', path: '/', headers: {} }), undefined);
});

test('upstream paths are joined as Kong path_handling v0 does', () => {
  // [service path, route prefix, strip_path, request path, expected] — kong/router/utils.lua get_upstream_uri_v0
  const cases: Array<[string | null, string, boolean, string, string]> = [
    [null, '/r', true, '/r', '/'],
    [null, '/r', true, '/r/x', '/x'],
    ['/s', '/r', true, '/r', '/s'],
    ['/s', '/r', true, '/r/', '/s/'],
    ['/s', '/r', true, '/r/x', '/s/x'],
    ['/s', '/r', true, '/rx', '/s/x'],
    ['/s/', '/r', true, '/r', '/s'],
    ['/s/', '/r', true, '/r/', '/s/'],
    ['/s/', '/r', true, '/r/x', '/s/x'],
    ['/s', '/r', false, '/r/x', '/s/r/x'],
    ['/s/', '/r', false, '/r/x', '/s/r/x'],
    [null, '/r', false, '/r/x', '/r/x'],
  ];
  for (const [servicePath, prefix, stripPath, reqUri, expected] of cases) {
    assert.equal(upstreamUri({ servicePath, prefix, stripPath, reqUri }), expected, `${String(servicePath)} ${prefix} ${String(stripPath)} ${reqUri}`);
  }
});

test('request paths are normalised before routing', () => {
  assert.equal(normalizePath('/a/%62/./c/../d'), '/a/b/d');
  assert.equal(normalizePath('/a%2Fb'), '/a%2Fb');
});

test('Router.buildSliced (POST /config) yields to the event loop and picks exactly what the synchronous build picks', async () => {
  const routes: Entity[] = [];
  for (let i = 0; i < 60; i++) {
    const k = i % 4;
    routes.push(
      k === 0
        ? route({ name: `p${i}`, paths: [`/a/${i % 7}`] })
        : k === 1
          ? route({ name: `m${i}`, paths: ['/a'], methods: [i % 2 ? 'GET' : 'POST'] })
          : k === 2
            ? route({ name: `x${i}`, paths: [`~/a/(?<n>\\d+)/${i}$`], regex_priority: i % 5 })
            : route({ name: `h${i}`, hosts: [`h${i % 3}.example`, '*.wild'], paths: ['/a'] }),
    );
  }
  const snap = { services: [], routes, plugins: [] };
  let t = 0;
  let turns = 0;
  let stop = false;
  const count = (): void => {
    turns++;
    if (!stop) setImmediate(count);
  };
  setImmediate(count);
  const sliced = await Router.buildSliced(snap, 5, () => t++);
  stop = true;
  assert.ok(turns >= 5, `the loop turned ${turns} times`);
  const sync = new Router(snap);
  for (const host of ['localhost', 'h1.example', 'x.wild']) {
    for (const method of ['GET', 'POST']) {
      for (const p of ['/a', '/a/3', '/a/5/14', '/a/2/22', '/b']) {
        const req = { method, host, path: p, headers: {} };
        assert.equal(sliced.match(req)?.route.name, sync.match(req)?.route.name, `${method} ${host}${p}`);
      }
    }
  }
});
