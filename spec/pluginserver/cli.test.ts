/**
 * The plugin server's command line as Kong runs it (query_cmd and start_cmd), on the project's own built
 * plugins and on test plugins.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { PluginServerClient } from '../../kong/rpc/client';
import { EXIT, runEvent } from '../../kong/rpc/event';
import { decodeMsgpack } from '../../kong/rpc/lua-msgpack';
import { writePlugins } from '../helpers/pluginserver-plugins';
import { OUR_CLI, REPO_ROOT, runDump, startServer } from '../helpers/pluginserver-process';
import { makeTmpDir } from '../helpers/pluginserver-tmp';

describe('plugin server CLI', () => {
  const tmp = makeTmpDir();
  after(() => tmp.cleanup());

  test('`npm run --silent pluginserver -- --dump-all-plugins` prints JSON naming ai-proxy-advanced', () => {
    const r = spawnSync('npm', ['run', '--silent', 'pluginserver', '--', '--dump-all-plugins'], {
      cwd: REPO_ROOT,
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr.toString());
    const dump = JSON.parse(r.stdout.toString()) as { Name: string; Priority: number; Version: string }[];
    const ours = dump.find((p) => p.Name === 'ai-proxy-advanced');
    assert.ok(ours, r.stdout.toString());
    assert.equal(ours.Priority, 770);
    assert.match(ours.Version, /^\d+\.\d+\.\d+$/);
  });

  test('the plugin name can be overridden for Kong Enterprise, where the bundled Lua plugin wins', () => {
    const r = spawnSync(process.execPath, [OUR_CLI, '--dump-all-plugins'], {
      env: { ...process.env, AI_PROXY_ADVANCED_PLUGIN_NAME: 'ai-proxy-advanced-js' },
      timeout: 30_000,
    });
    assert.equal(r.status, 0, r.stderr.toString());
    const names = (JSON.parse(r.stdout.toString()) as { Name: string }[]).map((p) => p.Name);
    assert.ok(names.includes('ai-proxy-advanced-js'), names.join());
    const info = spawnSync(process.execPath, [OUR_CLI, '--dump-plugin-info', 'ai-proxy-advanced-js'], {
      env: { ...process.env, AI_PROXY_ADVANCED_PLUGIN_NAME: 'ai-proxy-advanced-js' },
      timeout: 30_000,
    });
    assert.equal((decodeMsgpack(info.stdout) as { Name: string }).Name, 'ai-proxy-advanced-js');
  });

  test('--dump-plugin-info of an unknown plugin fails on stderr with stock\'s message, stdout empty', () => {
    const r = runDump('ours', ['--dump-plugin-info', 'nope']);
    assert.equal(r.status, 1);
    assert.equal(r.stdout.length, 0);
    assert.match(r.stderr, /nope not initizlied/);
  });

  test('a .ts plugin file loads through ts-node, as under kong-js-pluginserver', () => {
    const dir = writePlugins(path.join(tmp.dir, 'ts'), {
      'typed.ts': [
        'class Plugin {',
        '  constructor(private config: { message?: string }) {}',
        '  async access(kong: { response: { setHeader(k: string, v: string): Promise<void> } }): Promise<void> {',
        "    await kong.response.setHeader('x-msg', this.config.message ?? 'hi');",
        '  }',
        '}',
        "module.exports = { Plugin, Version: '0.1.0', Priority: 3 };",
        '',
      ].join('\n'),
    });
    const r = spawnSync(process.execPath, [OUR_CLI, '-d', dir, '--dump-all-plugins'], {
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' },
      timeout: 30_000,
    });
    assert.equal(r.status, 0, r.stderr.toString());
    assert.deepEqual(
      (JSON.parse(r.stdout.toString()) as { Name: string; Phases: string[] }[]).map((p) => [p.Name, p.Phases]),
      [['typed', ['access']]],
    );
  });

  test('--version, --help and a bad option', () => {
    const v = runDump('ours', ['--version']);
    assert.equal(v.status, 0);
    assert.match(v.stdout.toString(), /^\d+\.\d+\.\d+\n$/);
    const h = runDump('ours', ['--help']);
    assert.match(h.stdout.toString(), /--dump-all-plugins/);
    const bad = runDump('ours', ['--frobnicate']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /unknown option '--frobnicate'/);
  });

  test('a plugin\'s Warm runs once before the server serves, never for a dump; a failing one is only reported', async () => {
    const marker = path.join(tmp.dir, 'warmed.txt');
    const dir = writePlugins(path.join(tmp.dir, 'warm-plugins'), {
      'warmed.js': `'use strict';
class Plugin { async access() {} }
module.exports = { Plugin, Version: '0.1.0', Warm: () => require('node:fs').appendFileSync(${JSON.stringify(marker)}, 'warm\\n') };
`,
      'broken.js': `'use strict';
class Plugin { async access() {} }
module.exports = { Plugin, Version: '0.1.0', Warm: () => { throw new Error('cold forever'); } };
`,
    });
    const dump = runDump('ours', ['-d', dir, '--dump-all-plugins']);
    assert.equal(dump.status, 0, dump.stderr);
    assert.equal(existsSync(marker), false, 'a dump does not warm');
    const srv = await startServer('ours', { pluginsDir: dir, prefix: tmp.dir, sockName: 'warm.sock' });
    try {
      // startServer returns once the socket accepts: Warm has run by then, exactly once.
      assert.equal(readFileSync(marker, 'utf8'), 'warm\n');
      assert.match(srv.stderr(), /plugin "broken" Warm failed: cold forever/);
      assert.equal(srv.hasExited(), false);
    } finally {
      assert.equal(await srv.stop(), 0);
    }
  });

  test('ai-proxy-advanced\'s Warm compiles the config validator, so its first instance compiles nothing', () => {
    // In a fresh process: count ajv compiles through Warm and then the first plugin instance.
    const script = `
      const Ajv = require('ajv').default;
      let compiles = 0;
      const compile = Ajv.prototype.compile;
      Ajv.prototype.compile = function (...a) { compiles++; return compile.apply(this, a); };
      const mod = require(${JSON.stringify(path.join(REPO_ROOT, 'dist', 'plugins', 'ai-proxy-advanced'))});
      const before = compiles;
      mod.Warm();
      const warmed = compiles;
      new mod.Plugin({ __plugin_id: 'p', targets: [{ route_type: 'llm/v1/chat', model: { provider: 'openai', name: 'gpt-4o' } }] });
      process.stdout.write(JSON.stringify([before, warmed, compiles]));
    `;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: REPO_ROOT, timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr.toString());
    assert.deepEqual(JSON.parse(r.stdout.toString()), [0, 1, 1]);
  });

  test('serving logs only to stderr (even at -vv) and survives a plugin\'s unhandled rejection', async () => {
    const dir = writePlugins(path.join(tmp.dir, 'plugins'), {
      'careless.js': String.raw`'use strict';
class Plugin {
  async access(kong) {
    await kong.response.exit(403);
    kong.log.info('never awaited, made after exit');
  }
}
module.exports = { Plugin, Version: '0.1.0' };
`,
    });
    const srv = await startServer('ours', { pluginsDir: dir, prefix: tmp.dir, sockName: 'cli.sock', extraArgs: ['-vv'] });
    const c = new PluginServerClient({ socketPath: srv.socketPath });
    try {
      const { Id } = (await c.call('plugin.StartInstance', { Name: 'careless', Config: '{}' })) as { Id: number };
      for (let i = 0; i < 3; i++) assert.deepEqual(await runEvent(c, Id, 'access', () => EXIT), { exited: true });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(srv.hasExited(), false, srv.stderr());
      assert.match(srv.stderr(), /unhandled promise rejection: PDKError/);
      assert.match(srv.stderr(), /rpc: #\d+ method: plugin\.HandleEvent args: \[\{"InstanceId":0,"EventName":"access"\}\]/);
    } finally {
      c.close();
      assert.equal(await srv.stop(), 0);
    }
    assert.equal(srv.stdout(), '');
  });
});
