/**
 * The plugins the gateway can run: what the plugin servers' query commands reported (Name, Version, Priority,
 * Phases, Schema), filtered by the `plugins` setting, plus a hook for extra config validators keyed by plugin
 * name (cross-field rules a JS plugin cannot declare in its Kong schema, e.g. the ajv validator built in
 * schemas/ for ai-proxy-advanced).
 */
import { KONG_BUNDLED_PLUGINS } from './bundled-plugins';
import { checkRecord, type ErrorTree, type FieldList } from './schema/kong-schema';

export interface PluginInfo {
  name: string;
  version: string;
  priority: number;
  phases: string[];
  /** The `config` record's fields (Schema.fields[…].config.fields). */
  configFields: FieldList;
  /** entity_checks declared on the config record. */
  configChecks: unknown;
  /** The full Schema object as reported, for GET /schemas/plugins/{name}. */
  schema: Record<string, unknown>;
  /** Which plugin server runs it. */
  server: string;
}

/** Returns an error tree for `config` (keys are config field names), or undefined when valid. */
export type ExtraValidator = (config: Record<string, unknown>) => Record<string, ErrorTree> | undefined;

export class PluginCatalog {
  private readonly plugins = new Map<string, PluginInfo>();
  readonly extraValidators = new Map<string, ExtraValidator>();

  constructor(readonly enabled: readonly string[]) {}

  add(info: PluginInfo): void {
    this.plugins.set(info.name, info);
  }

  get(name: string): PluginInfo | undefined {
    return this.plugins.get(name);
  }

  /** Names Kong would list as available: enabled and actually loadable. */
  availableNames(): string[] {
    return [...this.plugins.keys()].filter((n) => this.isEnabled(n)).sort();
  }

  isEnabled(name: string): boolean {
    return this.enabled.includes(name) || (this.enabled.includes('bundled') && KONG_BUNDLED_PLUGINS.has(name));
  }

  /** Kong's error when a plugin name is not usable (kong/db/dao/plugins.lua / schema/entities/plugins.lua). */
  nameError(name: unknown): string | undefined {
    if (typeof name !== 'string') return 'expected a string';
    if (!this.isEnabled(name)) return `plugin '${name}' not enabled; add it to the 'plugins' configuration property`;
    if (!this.plugins.has(name)) {
      return `plugin '${name}' is enabled but no plugin server provides it (bundled Lua plugins cannot run in the local gateway; use Kong for them)`;
    }
    return undefined;
  }

  /** Defaults filled, Kong schema checks, then the plugin's extra validator. */
  checkConfig(name: string, config: Record<string, unknown>): { value: Record<string, unknown>; errors?: Record<string, ErrorTree> } {
    const info = this.plugins.get(name);
    if (!info) throw new Error(`unknown plugin ${name}`);
    const r = checkRecord(info.configFields, config, info.configChecks);
    if (r.errors) return r;
    const extra = this.extraValidators.get(name)?.(r.value);
    return extra ? { value: r.value, errors: extra } : r;
  }
}

/** Extracts and checks one `--dump-all-plugins` entry the way Kong does at start (§2.3). */
export function pluginInfoFromDump(entry: unknown, server: string): PluginInfo {
  if (entry === null || typeof entry !== 'object') throw new Error(`not a plugin info table: ${JSON.stringify(entry)}`);
  const e = entry as Record<string, unknown>;
  const name = e.Name;
  if (typeof name !== 'string' || name === '') throw new Error(`not a plugin info table: ${JSON.stringify(entry)}`);
  if (typeof e.Priority !== 'number' || !Number.isInteger(e.Priority))
    throw new Error(`Plugin "${name}" cannot be loaded because its PRIORITY field is not a valid integer number, got: "${String(e.Priority)}".`);
  if (typeof e.Version !== 'string' || !/^\d+\.\d+\.\d+$/.test(e.Version))
    throw new Error(`Plugin "${name}" cannot be loaded because its VERSION field does not follow the "x.y.z" format, got: "${String(e.Version)}".`);
  const schema = (e.Schema ?? {}) as Record<string, unknown>;
  const fields = Array.isArray(schema.fields) ? (schema.fields as Array<Record<string, unknown>>) : [];
  let configFields: FieldList = [];
  let configChecks: unknown;
  for (const f of fields) {
    const c = f.config as { type?: string; fields?: FieldList; entity_checks?: unknown } | undefined;
    if (c && c.type === 'record') {
      configFields = c.fields ?? [];
      configChecks = c.entity_checks;
    }
  }
  const phases = Array.isArray(e.Phases) ? (e.Phases as unknown[]).filter((p): p is string => typeof p === 'string') : [];
  return { name, version: e.Version, priority: e.Priority, phases, configFields, configChecks, schema, server };
}
