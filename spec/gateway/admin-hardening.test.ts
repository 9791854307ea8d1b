/**
 * Issue 11, Admin API half: what a hostile web page or client can send the Admin API of the real gateway.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { buildSnapshotSliced } from '../../kong/gateway/declarative/load';
import { type Harness, startHarness } from '../helpers/gateway-harness';
import { send, startUpstream, type Upstream } from '../helpers/gateway-upstream';

const GUI = 'https://kong-manager.example.com:8445';

function config(upstream: string, routes = 1): Record<string, unknown> {
  return {
    _format_version: '3.0',
    services: [{ name: 'svc', url: upstream, routes: Array.from({ length: routes }, (_, i) => ({ name: `r${i}`, paths: [`/r${i}`] })) }],
  };
}

describe('Admin API refuses hostile requests (issue 11)', () => {
  let h: Harness;
  let up: Upstream;
  before(async () => {
    up = await startUpstream();
    h = await startHarness({
      config: config(up.url),
      extraSettings: { KONG_ADMIN_GUI_URL: `${GUI}/manager`, KONG_NGINX_ADMIN_CLIENT_MAX_BODY_SIZE: '64k', KONG_ADMIN_ALLOWED_HOSTS: 'kong-admin.internal, [fd00::1]' },
    });
  });
  after(async () => {
    await h.close();
    await up.close();
  });

  const routeCount = async (): Promise<number> => (await send(`${h.admin}/routes`)).json().data.length;

  test('a write from a page whose Origin is not admin_gui_url is refused, and no answer says Access-Control-Allow-Origin: *', async () => {
    const doc = JSON.stringify(config(up.url, 3));
    const form = `config=${encodeURIComponent(doc)}`;
    const evil = await send(`${h.admin}/config`, { method: 'POST', headers: { Origin: 'https://evil.example', 'Content-Type': 'application/x-www-form-urlencoded' }, body: form });
    assert.equal(evil.status, 403, evil.body);
    assert.equal(evil.headers['access-control-allow-origin'], undefined);
    assert.equal(await routeCount(), 1, 'config unchanged');
    const nullOrigin = await send(`${h.admin}/services/svc`, { method: 'DELETE', headers: { Origin: 'null' } });
    assert.equal(nullOrigin.status, 403);
    // A read from such a page is refused too, not only left unreadable by CORS.
    const read = await send(`${h.admin}/routes`, { headers: { Origin: 'https://evil.example' } });
    assert.equal(read.status, 403);
    assert.equal(read.headers['access-control-allow-origin'], undefined);

    // admin_gui_url's origin (scheme://host:port, without its path) may write and gets CORS headers.
    const pre = await send(`${h.admin}/config`, { method: 'OPTIONS', headers: { Origin: GUI, 'Access-Control-Request-Headers': 'content-type' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], GUI);
    assert.equal(pre.headers['access-control-allow-headers'], 'content-type');
    const gui = await send(`${h.admin}/config`, { method: 'POST', headers: { Origin: GUI, 'Content-Type': 'application/x-www-form-urlencoded' }, body: form });
    assert.equal(gui.status, 201, gui.body);
    assert.equal(gui.headers['access-control-allow-origin'], GUI);
    assert.equal(await routeCount(), 3);
    // No Origin (decK, curl): allowed as before.
    const cli = await send(`${h.admin}/config`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: doc.replace('"r2"', '"r2b"') });
    assert.equal(cli.status, 201, cli.body);
  });

  test('DNS rebinding: a Host that is not the Admin API\'s own is refused with 421 before anything is read, GET /config included', async () => {
    const port = new URL(h.admin).port;
    const getConfig = (host: string, extra: Record<string, string> = {}) => send(`${h.admin}/config`, { headers: { Host: host, ...extra } });
    // A page on evil.example whose name now resolves to 127.0.0.1: same-origin from the browser's view, no Origin.
    for (const host of [`evil.example:${port}`, 'evil.example', `EVIL.example.:${port}`, `127.0.0.1.evil.example:${port}`, `localhost.evil.example`, `[::2]:${port}`, 'a b', `${GUI.slice(8)}x`]) {
      const r = await getConfig(host, { 'Sec-Fetch-Site': 'same-origin' });
      assert.equal(r.status, 421, host);
      assert.match(r.json().message, /admin_allowed_hosts/);
      assert.ok(!r.body.includes('sk-'), 'nothing of the config');
    }
    const before = await routeCount();
    const write = await send(`${h.admin}/config`, { method: 'POST', headers: { Host: `evil.example:${port}`, 'Content-Type': 'application/json' }, body: JSON.stringify(config(up.url, before + 4)) });
    assert.equal(write.status, 421);
    assert.equal(await routeCount(), before, 'config unchanged');
    // What decK, curl and the browser on the machine send; admin_gui_url's host; the names in admin_allowed_hosts.
    for (const host of [`127.0.0.1:${port}`, '127.0.0.1', `localhost:${port}`, 'LOCALHOST.', `app.localhost:${port}`, `[::1]:${port}`, '127.1.2.3', 'kong-manager.example.com', `Kong-Admin.Internal:${port}`, '[fd00::1]:8001']) {
      assert.equal((await getConfig(host)).status, 200, host);
    }
  });

  test('a body that is not JSON, form, multipart (or YAML for /config) is refused with 415 (Kong before_filter)', async () => {
    const doc = JSON.stringify(config(up.url, 2));
    for (const ct of ['text/plain', 'application/xml', 'text/html']) {
      const r = await send(`${h.admin}/config`, { method: 'POST', headers: { 'Content-Type': ct }, body: doc });
      assert.equal(r.status, 415, ct);
    }
    assert.equal((await send(`${h.admin}/services`, { method: 'POST', headers: { 'Content-Type': 'text/yaml' }, body: 'name: x\nurl: http://127.0.0.1:9\n' })).status, 415, 'YAML only for /config');
    const yaml = await send(`${h.admin}/config`, { method: 'POST', headers: { 'Content-Type': 'text/yaml' }, body: `_format_version: "3.0"\nservices:\n- name: y\n  url: ${up.url}\n  routes:\n  - name: ry\n    paths: [/ry]\n` });
    assert.equal(yaml.status, 201, yaml.body);
    const boundary = 'XyZ123';
    const multipart = `--${boundary}\r\nContent-Disposition: form-data; name="config"; filename="kong.json"\r\nContent-Type: application/json\r\n\r\n${doc}\r\n--${boundary}--\r\n`;
    const mp = await send(`${h.admin}/config`, { method: 'POST', headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` }, body: multipart });
    assert.equal(mp.status, 201, mp.body);
    assert.equal(await routeCount(), 2);
    const svc = await send(`${h.admin}/services`, { method: 'POST', headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` }, body: `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nmp\r\n--${boundary}\r\nContent-Disposition: form-data; name="url"\r\n\r\n${up.url}\r\n--${boundary}--\r\n` });
    // Read and validated, then refused as DB-less Kong refuses entity writes.
    assert.equal(svc.status, 405, svc.body);
    assert.equal(svc.json().message, "cannot create 'services' entities when not using a database");
  });

  test('prototype keys are refused in form, JSON and YAML bodies and pollute nothing', async () => {
    const cases: Array<[string, string, string]> = [
      ['/services', 'application/x-www-form-urlencoded', `name=p1&url=${encodeURIComponent(up.url)}&__proto__.strip_path=false`],
      ['/services', 'application/x-www-form-urlencoded', `name=p2&url=${encodeURIComponent(up.url)}&constructor.prototype.strip_path=false`],
      ['/services', 'application/json', `{"name":"p3","url":"${up.url}","__proto__":{"strip_path":false}}`],
      ['/routes', 'application/json', `{"name":"p4","paths":["/p4"],"tags":[{"constructor":{"prototype":{"x":1}}}]}`],
      ['/config', 'text/yaml', `_format_version: "3.0"\n__proto__:\n  strip_path: false\n`],
      ['/config', 'application/json', `{"config":{"_format_version":"3.0","services":[{"name":"z","url":"${up.url}","__proto__":{"a":1}}]}}`],
    ];
    for (const [path, ct, body] of cases) {
      const r = await send(`${h.admin}${path}`, { method: 'POST', headers: { 'Content-Type': ct }, body });
      assert.equal(r.status, 400, `${path} ${body}: ${r.body}`);
    }
    assert.equal(({} as Record<string, unknown>).strip_path, undefined, 'Object.prototype untouched');
    assert.equal((await send(`${h.admin}/services/p1`)).status, 404);
  });

  test('bodies over the admin client_max_body_size are 413 before and while reading; bad paths and deep nesting are 400', async () => {
    const big = 'x'.repeat(70 * 1024);
    const r = await send(`${h.admin}/services`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: `{"name":"${big}"}` });
    assert.equal(r.status, 413);
    assert.deepEqual(r.json(), { message: 'Payload too large' });
    // Chunked (no Content-Length): refused once the bytes read pass the limit.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${h.admin}/config`, { method: 'POST', headers: { 'Content-Type': 'text/yaml' }, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      const piece = Buffer.alloc(16 * 1024, 0x61);
      for (let i = 0; i < 8; i++) req.write(piece);
      req.end();
    });
    assert.equal(chunked, 413);

    assert.equal((await send(`${h.admin}/routes/%zz`)).status, 400);
    assert.equal((await send(`${h.admin}/services/%E0%A4%A`, { method: 'DELETE' })).status, 400);
    const deep = `{"name":"d","paths":["/d"],"tags":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const d = await send(`${h.admin}/routes`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: deep });
    assert.equal(d.status, 400, d.body);
    const deepForm = await send(`${h.admin}/services`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `${'a.'.repeat(2000)}b=1` });
    assert.equal(deepForm.status, 400);
    const deepYaml = await send(`${h.admin}/config`, { method: 'POST', headers: { 'Content-Type': 'text/yaml' }, body: `_format_version: "3.0"\nx: ${'['.repeat(3000)}${']'.repeat(3000)}\n` });
    assert.equal(deepYaml.status, 400, deepYaml.body);
  });
});

describe('POST /config with 10,000 routes does not hold the event loop (issue 11)', () => {
  test('validation gives the loop back after every slice (injected clock: one tick per entity)', async () => {
    const h = await startHarness({ admin: false });
    try {
      const doc = config('http://127.0.0.1:9', 200);
      let t = 0;
      let turns = 0;
      let stop = false;
      const count = (): void => {
        turns++;
        if (!stop) setImmediate(count);
      };
      setImmediate(count);
      const snap = await buildSnapshotSliced(doc, h.gw.store, 'test', { sliceMs: 10, now: () => t++ });
      stop = true;
      assert.equal(snap.routes.length, 200);
      // 201 entities, ~2 clock reads each, a yield every 10 ticks: the loop turned at least ~20 times.
      assert.ok(turns >= 15, `event loop turned ${turns} times during the load`);
    } finally {
      await h.close();
    }
  });

  test('proxy requests are answered while a 10,000-route config is being loaded', async () => {
    const up = await startUpstream();
    const h = await startHarness({ config: config(up.url) });
    try {
      const doc = JSON.stringify(config(up.url, 10_000));
      const order: string[] = [];
      const load = send(`${h.admin}/config`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: doc }).then((r) => {
        order.push('config');
        return r;
      });
      // Proxy requests sent after the load started, one after another, while the config is not yet answered.
      let proxied = 0;
      const deadline = Date.now() + 60_000;
      while (order.length === 0 && Date.now() < deadline) {
        const r = await send(`${h.proxy}/r0`);
        assert.equal(r.status, 200);
        if (order.length === 0) proxied++;
      }
      const res = await load;
      assert.equal(res.status, 201, res.body.slice(0, 300));
      assert.ok(proxied >= 3, `only ${proxied} proxy requests were answered during the load`);
      assert.equal((await send(`${h.proxy}/r9999`)).status, 200);
    } finally {
      await h.close();
      await up.close();
    }
  });
});
