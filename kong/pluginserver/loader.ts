/**
 * Plugin discovery and the kong-pdk module contract (kong-pdk 0.6.0 server.js `loadPlugins`, lib/mod.js;
 * kong-plugin-protocol.md §1.3): every top-level entry of the plugins directory that is not a dotfile or
 * node_modules and resolves to a .js/.cjs/.ts/.node file (or a directory with index.js / package.json main)
 * is `require`d and must export `Plugin` (a class), and optionally `Name`, `Version`, `Priority`, `Schema`.
 * Phases are the Plugin prototype's methods among certificate, rewrite, log, access, preread, response.
 * One extension: a module may export `Phases`, the phases to declare, to leave out some it implements (Kong sends
 * an event, one RPC round trip or more, for every declared phase of every request; ai-proxy-advanced drops `log`
 * when told it has no use for it). The handlers stay, so an event Kong sends anyway (a Kong that was told
 * otherwise) is still served. A name the Plugin does not implement is ignored.
 *
 * Differences from kong-pdk, all in the direction of never breaking Kong's start: an entry that cannot be
 * resolved or loaded is reported on stderr and skipped (kong-pdk crashes on an unresolvable folder,
 * kong-js-pdk#151); declaration files (.d.ts) are ignored; a folder plugin without `Name` is named after the
 * folder (kong-pdk names it "index" after its index.js); a duplicate name is skipped whichever way it arose.
 * One addition to the contract: an optional `Warm` function, called once when the server starts serving (not for
 * a dump), for one-time work the first request would otherwise pay inside Kong's RPC (compiling validators).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from './log';

export const PHASES = ['certificate', 'rewrite', 'log', 'access', 'preread', 'response'] as const;
const VALID_EXTENSIONS = new Set(['.js', '.ts', '.node', '.cjs', '']);

export type PluginClass = new (config: unknown) => Record<string, unknown>;

export class PluginModule {
  readonly loadTime = Date.now() / 1000;
  lastStartInstanceTime = 0;
  lastCloseInstanceTime = 0;

  constructor(
    readonly name: string,
    readonly location: string,
    readonly mtime: number,
    readonly cls: PluginClass,
    readonly phases: string[],
    readonly priority: number,
    readonly version: unknown,
    readonly schema: unknown[],
    /** The module's optional `Warm` export (see above). */
    readonly warm?: () => unknown,
  ) {}

  /** The GetPluginInfo / --dump-* description, key for key as kong-pdk builds it (server.js GetPluginInfo). */
  info(): Record<string, unknown> {
    return {
      Name: this.name,
      Version: this.version,
      Phases: this.phases,
      Priority: this.priority,
      Schema: { name: this.name, fields: [{ config: { type: 'record', fields: this.schema } }] },
    };
  }
}

let tsNodeRegistered = false;

function registerTsNode(): void {
  if (tsNodeRegistered) return;
  // kong-pdk registers ts-node for every load (lib/mod.js line 3); only pay for it when a .ts plugin exists.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('ts-node') as { register(): void }).register();
  tsNodeRegistered = true;
}

/** Loads one plugin file; throws with a message naming what is wrong. */
export function loadModule(entryName: string, file: string): PluginModule {
  if (path.extname(file) === '.ts') registerTsNode();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(file) as Record<string, unknown> | undefined;
  if (mod === null || (typeof mod !== 'object' && typeof mod !== 'function')) {
    throw new Error('module exports nothing');
  }
  const cls = mod.Plugin;
  if (typeof cls !== 'function' || typeof cls.prototype !== 'object') {
    throw new Error('module does not export a Plugin class (kong-pdk contract: Plugin, Name, Version, Priority, Schema)');
  }
  if (mod.Name !== undefined && mod.Name !== '' && typeof mod.Name !== 'string') {
    throw new Error(`Name must be a string, got ${typeof mod.Name}`);
  }
  const name = ((mod.Name as string | undefined) || entryName).toLowerCase();
  const proto = cls.prototype as Record<string, unknown>;
  const declared = mod.Phases;
  if (declared !== undefined && !Array.isArray(declared)) throw new Error('Phases must be an array of phase names');
  const phases = PHASES.filter((p) => typeof proto[p] === 'function' && (declared === undefined || (declared as unknown[]).includes(p)));
  const schema = (mod.Schema || []) as unknown[];
  if (!Array.isArray(schema)) throw new Error('Schema must be an array of Kong field definitions');
  return new PluginModule(
    name,
    file,
    fs.statSync(file).mtime.getTime() / 1000,
    cls as PluginClass,
    phases,
    (mod.Priority as number) || 0,
    mod.Version,
    schema,
    typeof mod.Warm === 'function' ? (mod.Warm as () => unknown) : undefined,
  );
}

/** Kong refuses such a plugin at start (kong/db/dao/plugins.lua valid_version / valid_priority): say so early. */
function kongWouldRefuse(m: PluginModule): string | undefined {
  if (typeof m.version !== 'string' || !/^\d+\.\d+\.\d+$/.test(m.version)) {
    return `Version ${JSON.stringify(m.version)} is not x.y.z`;
  }
  if (!Number.isInteger(m.priority)) return `Priority ${m.priority} is not an integer`;
  return undefined;
}

/** Reads `dir` and adds every loadable plugin to `into`; never throws for a bad entry. */
export function loadPluginsDir(dir: string, into: Map<string, PluginModule>, logger: Logger): void {
  const entries = fs.readdirSync(dir);
  for (const entry of entries) {
    if (entry.startsWith('.')) continue;
    if (/node_modules/.test(entry)) continue;
    const full = path.join(dir, entry);
    if (entry.endsWith('.d.ts') || entry.endsWith('.map')) continue;
    if (entry.endsWith('.mjs')) {
      logger.warn(`skipping ${full}: ES modules (.mjs) cannot be loaded; compile the plugin to CommonJS`);
      continue;
    }
    let file: string;
    try {
      file = require.resolve(full);
    } catch (e) {
      logger.warn(`skipping ${full}: not a loadable module (${(e as Error).message.split('\n')[0]})`);
      continue;
    }
    const ext = path.extname(file);
    if (!VALID_EXTENSIONS.has(ext)) continue;
    const entryName = fs.statSync(full).isDirectory() ? entry : path.parse(file).name;
    if (!entryName) continue;
    let mod: PluginModule;
    try {
      mod = loadModule(entryName, file);
    } catch (e) {
      const err = e as Error;
      logger.warn(`error loading plugin "${entryName}" from ${file}: ${err.message}`);
      if (err.stack) logger.debug(err.stack);
      continue;
    }
    const prior = into.get(mod.name);
    if (prior) {
      logger.warn(`plugin "${mod.name}" is already loaded from ${prior.location}, skipping ${file}`);
      continue;
    }
    const refusal = kongWouldRefuse(mod);
    if (refusal) logger.warn(`plugin "${mod.name}" from ${file}: ${refusal}; Kong will refuse to load it`);
    into.set(mod.name, mod);
    logger.debug(`loaded plugin "${mod.name}" from ${file}`);
  }
}
