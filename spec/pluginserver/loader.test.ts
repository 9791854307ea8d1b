import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { loadPluginsDir, type PluginModule } from '../../kong/pluginserver/loader';
import { createLogger } from '../../kong/pluginserver/log';
import { writePlugins } from '../helpers/pluginserver-plugins';
import { makeTmpDir } from '../helpers/pluginserver-tmp';

const plugin = (extra: string): string =>
  `class Plugin { async access() {} async log() {} }\nmodule.exports = { Plugin, ${extra} };\n`;

describe('plugin loader (kong-pdk module contract)', () => {
  const tmp = makeTmpDir();
  after(() => tmp.cleanup());

  function load(files: Record<string, string>, sub: string): { plugins: Map<string, PluginModule>; log: string } {
    const dir = writePlugins(path.join(tmp.dir, sub), files);
    const lines: string[] = [];
    const plugins = new Map<string, PluginModule>();
    loadPluginsDir(dir, plugins, createLogger('debug', (l) => lines.push(l)));
    return { plugins, log: lines.join('') };
  }

  test('reads Name (lower-cased), Version, Priority, Schema and prototype phases in kong-pdk order', () => {
    const { plugins } = load({ 'a.js': plugin("Name: 'My-Plugin', Version: '1.0.0', Priority: 42, Schema: [{ x: { type: 'string' } }]") }, 'meta');
    const p = plugins.get('my-plugin');
    assert.ok(p);
    assert.deepEqual(p.info(), {
      Name: 'my-plugin',
      Version: '1.0.0',
      Phases: ['log', 'access'],
      Priority: 42,
      Schema: { name: 'my-plugin', fields: [{ config: { type: 'record', fields: [{ x: { type: 'string' } }] } }] },
    });
  });

  test('an exported Phases list declares only those of the implemented phases; the handlers stay callable', () => {
    const { plugins } = load({ 'p.js': plugin("Name: 'some', Version: '1.0.0', Phases: ['access', 'rewrite']") }, 'phases');
    const p = plugins.get('some');
    assert.ok(p);
    assert.deepEqual(p.phases, ['access'], 'log is implemented but not declared; rewrite is declared but not implemented');
    assert.equal(typeof (p.cls.prototype as Record<string, unknown>).log, 'function');
    const bad = load({ 'b.js': plugin("Name: 'bad', Version: '1.0.0', Phases: 'access'") }, 'phases-bad');
    assert.equal(bad.plugins.has('bad'), false);
    assert.match(bad.log, /Phases must be an array of phase names/);
  });

  test('a folder plugin without Name is named after the folder; defaults are Priority 0 and no schema fields', () => {
    const { plugins } = load({ 'thing/index.js': plugin("Version: '0.0.1'") }, 'folder');
    const p = plugins.get('thing');
    assert.ok(p);
    assert.equal(p.priority, 0);
    assert.deepEqual(p.schema, []);
  });

  test('metadata Kong would refuse is loaded but warned about', () => {
    const { plugins, log } = load({ 'v.js': plugin("Version: '1.0', Priority: 1.5") }, 'refuse');
    assert.ok(plugins.has('v'));
    assert.match(log, /Version "1\.0" is not x\.y\.z; Kong will refuse to load it/);
  });

  test('duplicates, ESM files, non-plugins and unloadable files are skipped with a reason', () => {
    const { plugins, log } = load(
      {
        'one.js': plugin("Name: 'same', Version: '0.0.1'"),
        'two.js': plugin("Name: 'same', Version: '0.0.2'"),
        'esm.mjs': 'export const Plugin = class {};\n',
        'helper.js': 'module.exports = { util: 1 };\n',
        'broken.js': 'module.exports = ;\n',
        'x.d.ts': 'export {};\n',
      },
      'skips',
    );
    assert.deepEqual([...plugins.keys()], ['same']);
    assert.equal(plugins.get('same')!.version, '0.0.1');
    assert.match(log, /plugin "same" is already loaded from .*one\.js, skipping .*two\.js/);
    assert.match(log, /ES modules \(\.mjs\) cannot be loaded/);
    assert.match(log, /error loading plugin "helper".*does not export a Plugin class/);
    assert.match(log, /error loading plugin "broken".*Unexpected token/);
    assert.doesNotMatch(log, /x\.d/);
  });
});
