/**
 * Issue 11, plugin-server lifecycle through the real CLI and unix socket: a server removes only the socket it
 * created, SIGTERM drains requests in flight (bounded), and -vv never logs secrets or bodies.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { PluginServerClient } from '../../kong/rpc/client';
import { runEvent } from '../../kong/rpc/event';
import { REDACTED, redactForLog } from '../../kong/pluginserver/redact';
import { BODY_READER_PLUGIN, writePlugins } from '../helpers/pluginserver-plugins';
import { canConnect, startServer } from '../helpers/pluginserver-process';
import { makeTmpDir } from '../helpers/pluginserver-tmp';
import { eventually } from '../helpers/gateway-harness';

const SLOW_PLUGIN = String.raw`'use strict';
class Plugin {
  async access(kong) {
    await new Promise((r) => setTimeout(r, 700));
    await kong.response.setHeader('x-slow', 'done');
  }
}
module.exports = { Plugin, Version: '0.1.0', Priority: 10 };
`;

/**
 * Registers a shutdown hook the way ai-proxy-advanced does (kong/pluginserver/shutdown-hooks.ts, through its
 * globalThis key): busy until the file named by HOOK_RELEASE exists (HOOK_CLOSED.polled marks that the drain polled
 * it), and a close() that writes HOOK_CLOSED.
 */
const HOOK_PLUGIN = String.raw`'use strict';
const fs = require('node:fs');
const key = Symbol.for('ai-proxy-advanced.pluginserver.shutdown-hooks');
const hooks = (globalThis[key] ??= new Set());
let polls = 0;
hooks.add({
  name: 'test hook',
  busy: () => {
    // The drain asked three times: it is waiting on this hook.
    if (++polls === 3) fs.writeFileSync(process.env.HOOK_CLOSED + '.polled', '');
    return fs.existsSync(process.env.HOOK_RELEASE) ? 0 : 1;
  },
  close: async () => {
    await new Promise((r) => setTimeout(r, 50));
    fs.writeFileSync(process.env.HOOK_CLOSED, 'closed');
  },
});
class Plugin {}
module.exports = { Plugin, Version: '0.1.0', Priority: 10 };
`;

describe('plugin server lifecycle (issue 11)', { timeout: 60_000 }, () => {
  const tmp = makeTmpDir();
  after(() => tmp.cleanup());
  const plugins = writePlugins(path.join(tmp.dir, 'plugins'), { 'slow.js': SLOW_PLUGIN, 'body-reader.js': BODY_READER_PLUGIN });

  test("SIGTERM waits for the work plugins report through shutdown hooks (live streams), then closes them (log sinks)", async () => {
    const hookPlugins = writePlugins(path.join(tmp.dir, 'hook-plugins'), { 'hooked.js': HOOK_PLUGIN });
    const release = path.join(tmp.dir, 'hook.release');
    const closedFile = path.join(tmp.dir, 'hook.closed');
    const saved = { ...process.env };
    // The child inherits these: a drain long enough that only the hook's release can end it in this test.
    Object.assign(process.env, { HOOK_RELEASE: release, HOOK_CLOSED: closedFile, AI_PROXY_PLUGINSERVER_DRAIN_MS: '30000' });
    let srv: Awaited<ReturnType<typeof startServer>>;
    try {
      srv = await startServer('ours', { pluginsDir: hookPlugins, prefix: tmp.dir, sockName: 'hook.sock' });
    } finally {
      for (const k of ['HOOK_RELEASE', 'HOOK_CLOSED', 'AI_PROXY_PLUGINSERVER_DRAIN_MS']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
    try {
      srv.proc.kill('SIGTERM');
      // Draining: the drain keeps asking the hook, the socket is gone, the process still there, the hook not closed.
      await eventually(() => existsSync(`${closedFile}.polled`));
      assert.equal(existsSync(srv.socketPath), false);
      assert.equal(srv.hasExited(), false, 'exited while a hook reported work in flight');
      assert.equal(existsSync(closedFile), false, 'closed before the drain ended');
      writeFileSync(release, '');
      assert.equal(await srv.exited, 0);
      assert.equal(readFileSync(closedFile, 'utf8'), 'closed', "the hook's close() ran before exit");
    } finally {
      await srv.stop();
    }
  });

  test("an orphan's SIGTERM leaves the socket a newer server listens on; the newer one removes its own", async () => {
    const old = await startServer('ours', { pluginsDir: plugins, prefix: tmp.dir, sockName: 'shared.sock' });
    const oldIno = statSync(old.socketPath).ino;
    // startServer returns as soon as the path accepts, which the old server's socket already does: wait until
    // the new server has put its own socket in place.
    const fresh = await startServer('ours', { pluginsDir: plugins, prefix: tmp.dir, sockName: 'shared.sock' });
    try {
      await eventually(() => existsSync(fresh.socketPath) && statSync(fresh.socketPath).ino !== oldIno && /server started/.test(fresh.stderr()));
    } catch (e) {
      await fresh.stop();
      await old.stop();
      throw e;
    }
    assert.equal(await old.stop(), 0);
    assert.ok(existsSync(fresh.socketPath), 'the new server\'s socket is still there');
    assert.ok(await canConnect(fresh.socketPath));
    const c = new PluginServerClient({ socketPath: fresh.socketPath });
    try {
      const status = (await c.call('plugin.GetStatus')) as { Pid: number };
      assert.equal(status.Pid, fresh.proc.pid);
    } finally {
      c.close();
    }
    assert.equal(await fresh.stop(), 0);
    assert.equal(existsSync(fresh.socketPath), false);
  });

  test('SIGTERM answers the requests in flight before exiting', async () => {
    const srv = await startServer('ours', { pluginsDir: plugins, prefix: tmp.dir, sockName: 'drain.sock', extraArgs: ['-vv'] });
    const c = new PluginServerClient({ socketPath: srv.socketPath });
    try {
      const { Id } = (await c.call('plugin.StartInstance', { Name: 'slow', Config: '{}' })) as { Id: number };
      const calls: string[] = [];
      const event = runEvent(c, Id, 'access', (method) => {
        calls.push(method);
        return null;
      });
      // The event is in flight once the server has read it (-vv logs each RPC as it arrives).
      await eventually(() => /method: plugin\.HandleEvent/.test(srv.stderr()));
      srv.proc.kill('SIGTERM');
      assert.equal(await event, 'ret');
      assert.deepEqual(calls, ['kong.response.set_header']);
      assert.equal(await srv.exited, 0);
      assert.equal(existsSync(srv.socketPath), false, 'new connections are refused: the socket is gone');
    } finally {
      c.close();
    }
  });

  test('-vv logs RPCs without provider keys, client credentials or bodies', async () => {
    const srv = await startServer('ours', { pluginsDir: plugins, prefix: tmp.dir, sockName: 'vv.sock', extraArgs: ['-vv'] });
    const c = new PluginServerClient({ socketPath: srv.socketPath });
    const secrets = ['sk-proj-PROVIDERKEY123456', 'AKIAABCDEFGHIJKLMNOP', 'aws-secret-value-xyz', 'client-token-abc', 'PROMPT-TEXT-do-not-log'];
    try {
      const config = JSON.stringify({ auth: { header_name: 'Authorization', header_value: `Bearer ${secrets[0]}`, aws_access_key_id: secrets[1], aws_secret_access_key: secrets[2] } });
      const { Id } = (await c.call('plugin.StartInstance', { Name: 'body-reader', Config: config })) as { Id: number };
      await runEvent(c, Id, 'access', (method) => (method === 'kong.request.get_raw_body' ? Buffer.from(`{"messages":[{"content":"${secrets[4]}"}]}`) : null));
      await c.call('plugin.Step', { EventId: 999, Data: { authorization: `Bearer ${secrets[3]}`, body: secrets[4] } }).catch(() => undefined);
      // The last RPC's line is in: everything before it is too.
      await eventually(() => /method: plugin\.Step/.test(srv.stderr()));
      const log = srv.stderr();
      assert.match(log, /method: plugin\.StartInstance/);
      for (const s of secrets) assert.ok(!log.includes(s), `${s} leaked into the -vv log:\n${log}`);
    } finally {
      c.close();
      await srv.stop();
    }
  });

  test('redactForLog keeps shapes and names, drops values', () => {
    const line = redactForLog([{ Config: JSON.stringify({ model: { name: 'gpt-4o' }, auth: { param_value: 'k', gcp_service_account_json: '{"private_key":"x"}' } }) }, { EventId: 1, Data: 'x'.repeat(5000) }]);
    assert.match(line, /gpt-4o/);
    assert.ok(line.includes(`"param_value":"${REDACTED}"`), line);
    assert.ok(line.includes(`"gcp_service_account_json":"${REDACTED}"`), line);
    assert.ok(line.includes('"Data":"<5000 bytes>"'), line);
    assert.equal(redactForLog([{ x: { headers: { 'x-api-key': 'abc' } } }]), `[{"x":{"headers":{"x-api-key":"${REDACTED}"}}}]`);
  });
});
