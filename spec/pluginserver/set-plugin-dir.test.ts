/**
 * plugin.SetPluginDir (Kong never calls it, kong-pdk serves it): loads another plugins directory into the
 * running server, answers "ok", and refuses a directory that does not exist with kong-pdk's text
 * (server.js SetPluginDir: "<dir> does not exists"). Run against stock and ours alike.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';
import { PluginServerClient, RpcError } from '../../kong/rpc/client';
import { EXITER_PLUGIN, THREE_STEPS_PLUGIN, writePlugins } from '../helpers/pluginserver-plugins';
import { startServer, type ServerKind } from '../helpers/pluginserver-process';
import { makeTmpDir } from '../helpers/pluginserver-tmp';

const tmp = makeTmpDir('aipa-spd-');
after(() => tmp.cleanup());

for (const kind of ['stock', 'ours'] as ServerKind[]) {
  test(`${kind}: SetPluginDir loads the plugins of another directory and refuses a missing one`, async () => {
    const first = writePlugins(path.join(tmp.dir, `${kind}-a`), { 'exiter.js': EXITER_PLUGIN });
    const second = writePlugins(path.join(tmp.dir, `${kind}-b`), { 'three.js': THREE_STEPS_PLUGIN });
    const server = await startServer(kind, { pluginsDir: first, prefix: tmp.dir, sockName: `${kind}.sock` });
    const client = new PluginServerClient({ socketPath: server.socketPath });
    try {
      await assert.rejects(client.call('plugin.GetPluginInfo', 'three'), RpcError);
      assert.equal(await client.call('plugin.SetPluginDir', second), 'ok');
      const info = (await client.call('plugin.GetPluginInfo', 'three')) as { Name: string };
      assert.equal(info.Name, 'three');
      const missing = path.join(tmp.dir, 'nowhere');
      await assert.rejects(client.call('plugin.SetPluginDir', missing), (e: Error) => e instanceof RpcError && e.message === `${missing} does not exists`);
    } finally {
      client.close();
      await server.stop();
    }
  });
}
