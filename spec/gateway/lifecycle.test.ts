import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, type Harness, startHarness } from '../helpers/gateway-harness';
import { send, startUpstream, type Upstream } from '../helpers/gateway-upstream';

function config(out: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    _format_version: '3.0',
    services: [{ name: 's', url: 'http://127.0.0.1:9/', routes: [{ name: 'r', paths: ['/p'], plugins: [{ name: 'probe', config: { mode: 'exit', out, ...extra } }] }] }],
  };
}

async function reload(h: Harness, extra: Record<string, unknown> = {}): Promise<void> {
  const r = await send(`${h.admin}/config`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(config(h.out, extra)) });
  assert.equal(r.status, 201, r.body);
}

describe('plugin instances and plugin-server processes', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ plugins: [{ name: 'probe', priority: 100 }], workers: 2 });
    await reload(h);
  });
  after(() => h.close());

  test('each worker starts its own instance and reuses it while the config is unchanged', async () => {
    for (let i = 0; i < 4; i++) assert.equal((await send(`${h.proxy}/p`)).status, 200);
    const starts = h.events().filter((e) => e.event === 'start');
    assert.equal(starts.length, 2);
    assert.equal(new Set(starts.map((e) => e.seq)).size, 1);
  });

  test('a config change gives a new __seq__: StartInstance again, then CloseInstance of the old one', async () => {
    const before = h.events().filter((e) => e.event === 'start').length;
    const oldSeq = h.events().find((e) => e.event === 'start')?.seq as number;
    // DB-less: the change comes as a whole declarative config (entity PATCHes are refused with 405).
    await reload(h, { status: 203 });
    const r = await send(`${h.proxy}/p`);
    assert.equal(r.status, 203);
    const starts = h.events().filter((e) => e.event === 'start');
    assert.equal(starts.length, before + 1);
    const newSeq = starts.at(-1)?.seq as number;
    assert.ok(newSeq > oldSeq);
    await eventually(() => h.events().some((e) => e.event === 'close' && e.seq === oldSeq));
  });

  test('a killed plugin server is respawned, and instances are re-created after "no plugin instance"', async () => {
    const proc = h.gw.processes[0];
    assert.ok(proc);
    const oldPid = proc.pid;
    assert.equal((await send(`${h.proxy}/p`)).status, 203);
    process.kill(oldPid ?? 0, 'SIGKILL');
    await eventually(() => proc.pid !== undefined && proc.pid !== oldPid, 200, 25);
    await proc.waitReady(5000);
    const startsBefore = h.events().filter((e) => e.event === 'start').length;
    const r = await send(`${h.proxy}/p`);
    assert.equal(r.status, 203);
    const access = h.events().filter((e) => e.event === 'access').at(-1);
    assert.equal(access?.pid, proc.pid);
    assert.ok(h.events().filter((e) => e.event === 'start').length > startsBefore);
    assert.ok(h.logs.some((l) => /no plugin instance/i.test(l)));
    assert.ok(h.logs.some((l) => l.includes("external pluginserver 'probe' terminated")));
  });

  test('a StartInstance failure is a 500 in access', async () => {
    await reload(h, { value: 'explode-on-start' });
    const r = await send(`${h.proxy}/p`);
    assert.equal(r.status, 500);
    assert.deepEqual(r.json(), { message: 'An unexpected error occurred' });
    assert.ok(h.logs.some((l) => l.includes('starting instance') && l.includes('refusing to start')));
    await reload(h);
    assert.equal((await send(`${h.proxy}/p`)).status, 200);
  });
});

describe('RPC failures fail open', () => {
  let h: Harness;
  let up: Upstream;
  before(async () => {
    up = await startUpstream();
    h = await startHarness({ plugins: [{ name: 'slowpoke', priority: 100 }], gatewayOptions: { rpcReadTimeoutMs: 300 } });
    const r = await send(`${h.admin}/config`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        _format_version: '3.0',
        services: [{ name: 's', url: up.url, routes: [{ name: 'r', paths: ['/slow'], plugins: [{ name: 'slowpoke', config: { mode: 'slow', sleep: 800 } }] }] }],
      }),
    });
    assert.equal(r.status, 201, r.body);
  });
  after(async () => {
    await h.close();
    await up.close();
  });

  test('a plugin silent past the read timeout is skipped with "no data" and the request is proxied', async () => {
    const r = await send(`${h.proxy}/slow`);
    assert.equal(r.status, 200);
    assert.equal(r.json().echo, '/');
    assert.ok(h.logs.some((l) => l.includes('slowpoke access: no data')));
  });
});

describe('the stock kong-js-pluginserver', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ plugins: [{ name: 'stockprobe', priority: 100 }], stock: true });
    const r = await send(`${h.admin}/config`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        _format_version: '3.0',
        routes: [{ name: 'r', paths: ['/stock'], plugins: [{ name: 'stockprobe', config: { mode: 'exit', status: 299 } }] }],
      }),
    });
    assert.equal(r.status, 201, r.body);
  });
  after(() => h.close());

  test('is driven the same way: query, spawn, StartInstance, HandleEvent/Step, exit', async () => {
    const r = await send(`${h.proxy}/stock?q=1`, { headers: { 'X-Test': 'stock' } });
    assert.equal(r.status, 299);
    assert.equal(r.json().header, 'stock');
    assert.deepEqual(r.json().query, { q: ['1'] });
  });
});

describe('concurrent first requests', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ plugins: [{ name: 'herd', priority: 100 }], workers: 1 });
    const r = await send(`${h.admin}/config`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        _format_version: '3.0',
        routes: [{ name: 'r', paths: ['/h'], plugins: [{ name: 'herd', config: { mode: 'exit', out: h.out } }] }],
      }),
    });
    assert.equal(r.status, 201, r.body);
  });
  after(() => h.close());

  test('wait for the one StartInstance in flight instead of starting their own', async () => {
    const rs = await Promise.all(Array.from({ length: 12 }, () => send(`${h.proxy}/h`)));
    assert.deepEqual(rs.map((r) => r.status), Array(12).fill(200));
    assert.equal(h.events().filter((e) => e.event === 'start').length, 1);
    assert.equal(h.events().filter((e) => e.event === 'access').length, 12);
  });
});

describe('a start command that does not exist', () => {
  test('is not respawned (exit status 127) and start-up fails naming it', async () => {
    const started = Date.now();
    await assert.rejects(
      startHarness({
        plugins: [{ name: 'ghost', priority: 1 }],
        extraSettings: { KONG_PLUGINSERVER_GHOST_START_CMD: '/nonexistent/kong-js-pluginserver -v' },
      }),
      /pluginserver 'ghost': start command not found \(exit status 127\)/,
    );
    assert.ok(Date.now() - started < 10_000);
  });
});

describe('a decK file with env placeholders and vault references', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      plugins: [{ name: 'vaulted', priority: 1 }],
      env: { DECK_MODE: 'exit', DECK_STATUS: '207', PROBE_SECRET: 's3cret' },
      config: {
        _format_version: '3.0',
        routes: [
          {
            name: 'v',
            paths: ['/v'],
            plugins: [{ name: 'vaulted', config: { mode: '${{ env "DECK_MODE" }}', status: '${{ env "DECK_STATUS" | toInt }}', secret: '{vault://env/probe-secret}', value: '{vault://env/probe-secret}', out: '__OUT__' } }],
          },
        ],
      },
    });
  });
  after(() => h.close());

  test('renders the placeholders at load, and resolves the reference for the plugin only', async () => {
    const admin = (await send(`${h.admin}/plugins`)).json().data[0];
    assert.equal(admin.config.mode, 'exit');
    assert.equal(admin.config.status, 207);
    assert.equal(admin.config.secret, '{vault://env/probe-secret}', 'the Admin API shows the reference');
    const r = await send(`${h.proxy}/v`);
    assert.equal(r.status, 207);
    const start = h.events().find((e) => e.event === 'start');
    const conf = start?.conf as Record<string, unknown>;
    assert.equal(conf.secret, 's3cret', 'a referenceable field is resolved from the env vault');
    assert.equal(conf.value, '{vault://env/probe-secret}', 'a field not marked referenceable keeps the text');
  });
});
