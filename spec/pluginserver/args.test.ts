import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CliError, parseArgs } from '../../kong/pluginserver/args';

describe('plugin server command line (kong-js-pluginserver spellings)', () => {
  test('defaults match kong-js-pluginserver, except that -d is optional', () => {
    assert.deepEqual(parseArgs([]), {
      kongPrefix: '/usr/local/kong',
      sockName: 'js_pluginserver.sock',
      pluginsDirectory: undefined,
      dumpPluginInfo: undefined,
      dumpAllPlugins: false,
      verbose: 0,
      busyPollUs: undefined,
      version: false,
      help: false,
    });
  });

  test('--busy-poll-us (ours only) takes microseconds and rejects anything else', () => {
    assert.equal(parseArgs(['--busy-poll-us', '0']).busyPollUs, 0);
    assert.equal(parseArgs(['--busy-poll-us=120']).busyPollUs, 120);
    for (const bad of ['-1', '1.5', 'fast', '2000000']) {
      assert.throws(() => parseArgs(['--busy-poll-us', bad]), (e: unknown) => e instanceof CliError && e.message.includes(`'${bad}' is invalid`));
    }
  });

  test('long, short, single-dash and attached spellings all parse', () => {
    const o = parseArgs(['-p', '/kong', '--sock-name=ai.sock', '-d/plugins', '-dump-plugin-info', 'x', '-vv']);
    assert.equal(o.kongPrefix, '/kong');
    assert.equal(o.sockName, 'ai.sock');
    assert.equal(o.pluginsDirectory, '/plugins');
    assert.equal(o.dumpPluginInfo, 'x');
    assert.equal(o.verbose, 2);
    const p = parseArgs(['--kong-prefix', '/k', '--plugins-directory', '/p', '-dump-all-plugins', '-v', '--verbose']);
    assert.equal(p.kongPrefix, '/k');
    assert.equal(p.pluginsDirectory, '/p');
    assert.equal(p.dumpAllPlugins, true);
    assert.equal(p.verbose, 2);
    assert.equal(parseArgs(['--dump-all-plugins']).dumpAllPlugins, true);
    assert.equal(parseArgs(['--version']).version, true);
  });

  test('unknown options and missing values fail with commander-style messages', () => {
    assert.throws(() => parseArgs(['--bogus']), (e: unknown) => e instanceof CliError && e.message === "error: unknown option '--bogus'");
    // kong-pdk's commander does not know -kong-prefix with one dash either.
    assert.throws(() => parseArgs(['-kong-prefix', '/x']), /unknown option '-kong-prefix'/);
    assert.throws(() => parseArgs(['-p']), /option '-p, --kong-prefix <prefix>' argument missing/);
    assert.throws(() => parseArgs(['--dump-plugin-info']), /argument missing/);
  });
});
