/**
 * The plugin catalog and declarative checks the gateway runs at start, as functions both the gateway
 * (gateway.ts) and `npm run validate` (schemas/cli.ts) call, so the CLI refuses exactly what the gateway would
 * refuse: a service `url` that is no URL, a path without `/`, a plugin the gateway does not run (not in
 * `plugins`, or enabled but provided by no plugin server), a config the plugin's own schema and validator
 * refuse, and everything else buildSnapshot checks.
 */
import { nativeLogPluginInfos, nativeLogValidators } from '../log-plugins';
import type { Logger } from '../log';
import { type ExtraValidator, PluginCatalog, type PluginInfo } from '../plugin-catalog';
import { queryPluginServer } from '../plugin-servers/process';
import { KONG_VERSION } from '../proxy/handler';
import type { Settings } from '../settings';
import { Store } from '../store';
import { defaultExtraValidators } from '../validators/ai-proxy-advanced';
import { buildSnapshot, DeclarativeError, type FlattenedError, parseDeclarativeText } from './load';

/** The catalog before any plugin server answered: the `plugins` setting and the config validators. */
export function newCatalog(settings: Settings, env: NodeJS.ProcessEnv, extra: Iterable<[string, ExtraValidator]> = []): PluginCatalog {
  const catalog = new PluginCatalog(settings.plugins);
  // ai-proxy-advanced's own validator by default (schemas/); callers may add or replace validators.
  for (const [k, v] of [...nativeLogValidators, ...defaultExtraValidators(env), ...extra]) catalog.extraValidators.set(k, v);
  return catalog;
}

/** Registers what one plugin server's query command reported (Kong 3.9+: one plugin per server). */
export function addServerPlugin(catalog: PluginCatalog, info: PluginInfo, server: string, logger: Logger): void {
  const dup = catalog.get(info.name);
  if (dup) throw new Error(`plugin '${info.name}' is provided by both pluginservers '${dup.server}' and '${server}'`);
  catalog.add(info);
  if (!catalog.isEnabled(info.name)) logger.warn(`plugin '${info.name}' (pluginserver '${server}') is not in the 'plugins' setting and cannot be configured`);
}

/** Kong's bundled file-log, http-log and prometheus, run by the gateway (unless a plugin server provides one). */
export function addNativePlugins(catalog: PluginCatalog): void {
  for (const info of nativeLogPluginInfos(KONG_VERSION)) if (!catalog.get(info.name)) catalog.add(info);
}

/** The whole catalog without starting anything: each plugin server's query command, then the native plugins. */
export async function queryCatalog(settings: Settings, env: NodeJS.ProcessEnv, logger: Logger): Promise<PluginCatalog> {
  const catalog = newCatalog(settings, env);
  for (const def of settings.pluginServers) addServerPlugin(catalog, await queryPluginServer(def, logger), def.name, logger);
  addNativePlugins(catalog);
  return catalog;
}

export interface DeclarativeProblem {
  /** `services[1].routes[2]` (1-based, as Kong's flattened_errors), or '' for the file as a whole. */
  entityPath: string;
  entityType?: string;
  entityName?: string;
  /** The field, dotted with 1-based positions (`paths.1`), or undefined for entity-level errors. */
  field?: string;
  message: string;
}

/**
 * Checks declarative text exactly as the gateway loads it (decK env rendering, parsing, buildSnapshot against
 * `catalog`). Returns the problems; none means the gateway would load the file.
 */
export function checkDeclarativeText(text: string, source: string, catalog: PluginCatalog, env: NodeJS.ProcessEnv): DeclarativeProblem[] {
  try {
    buildSnapshot(parseDeclarativeText(text, source, env), new Store(catalog), source);
    return [];
  } catch (err) {
    if (!(err instanceof DeclarativeError)) throw err;
    if (err.flattened.length === 0) return [{ entityPath: '', message: err.message }];
    return err.flattened.flatMap((f: FlattenedError) =>
      f.errors.map((e) => ({
        entityPath: f.entity_path,
        entityType: f.entity_type,
        ...(f.entity_name !== undefined ? { entityName: f.entity_name } : {}),
        ...(e.field !== undefined ? { field: e.field } : {}),
        message: e.message,
      })),
    );
  }
}
