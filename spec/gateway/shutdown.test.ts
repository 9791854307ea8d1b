/**
 * Issue 11: stopping the gateway (SIGTERM in kong/start.ts calls Gateway.close) drains requests in flight,
 * bounded by a deadline, and refuses new connections meanwhile; a plugin server stopped mid-request answers it.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { describe, test } from 'node:test';
import { eventually, startHarness } from '../helpers/gateway-harness';
import { send, startUpstream } from '../helpers/gateway-upstream';

const slowConfig = (url: string, sleep: number) => ({
  _format_version: '3.0',
  services: [{ name: 's', url, routes: [{ name: 'slow', paths: ['/slow'], plugins: [{ name: 'lo', config: { mode: 'slow', sleep, out: '__OUT__' } }] }] }],
});

describe('draining on shutdown (issue 11)', { timeout: 60_000 }, () => {
  test('close() lets a request in flight finish, refuses new connections, and stops at its deadline', async () => {
    const up = await startUpstream();
    const h = await startHarness({ plugins: [{ name: 'lo', priority: 10 }], config: slowConfig(up.url, 600), gatewayOptions: { drainMs: 5000 } });
    try {
      const inFlight = send(`${h.proxy}/slow`);
      await eventually(() => h.events().some((e) => e.event === 'access'));
      const closing = h.gw.close();
      const refused = await send(`${h.proxy}/slow`).then(
        () => false,
        (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED',
      );
      assert.ok(refused, 'a new connection is refused while draining');
      const r = await inFlight;
      assert.equal(r.status, 200);
      assert.deepEqual(r.json(), { slept: 600 });
      await closing;
    } finally {
      await h.close().catch(() => undefined);
      await up.close();
    }
  });

  test('a request that outlives the drain deadline is cut when it expires', async () => {
    const up = await startUpstream();
    const h = await startHarness({ plugins: [{ name: 'lo', priority: 10 }], config: slowConfig(up.url, 20_000) });
    try {
      const inFlight = send(`${h.proxy}/slow`).then(
        (r) => r.status,
        () => 'cut',
      );
      await eventually(() => h.events().some((e) => e.event === 'access'));
      await h.gw.close(300);
      assert.equal(await inFlight, 'cut');
      assert.ok(h.logs.some((l) => /1 requests still in flight after 300 ms/.test(l)), h.logs.join('\n'));
    } finally {
      await h.close().catch(() => undefined);
      await up.close();
    }
  });

  test('SIGTERM to the plugin server mid-request: the request is still answered', async () => {
    const up = await startUpstream();
    const h = await startHarness({ plugins: [{ name: 'lo', priority: 10 }], config: slowConfig(up.url, 600) });
    try {
      const inFlight = send(`${h.proxy}/slow`);
      await eventually(() => h.events().some((e) => e.event === 'access'));
      const child = (h.gw.processes[0] as unknown as { child: ChildProcess }).child;
      child.kill('SIGTERM');
      const r = await inFlight;
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(r.json(), { slept: 600 });
    } finally {
      await h.close();
      await up.close();
    }
  });
});
