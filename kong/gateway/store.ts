/**
 * The gateway's configuration, as DB-less Kong keeps it: services, routes and plugins held in memory, replaced
 * only as a whole declarative config, validated first (schema defaults, field checks, entity checks, unique
 * names, foreign keys) and swapped in atomically. Single-entity writes are checked, never applied. Every change bumps `version` and
 * notifies listeners, which rebuild the router and give plugins a new `__seq__`.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  ERROR_CODES,
  foreignKeyViolation,
  KongDaoError,
  schemaViolation,
  uniqueViolation,
} from './schema/errors';
import { expandServiceUrl, PLUGIN_ENVELOPE_FIELDS, ROUTE_FIELDS, routeEntityErrors, SERVICE_FIELDS } from './schema/entities';
import { checkRecord, type ErrorTree, type FieldList, isPlainObject, MESSAGES } from './schema/kong-schema';
import type { PluginCatalog } from './plugin-catalog';

export type EntityType = 'services' | 'routes' | 'plugins';
export type Entity = Record<string, unknown> & { id: string };

export interface Snapshot {
  services: Entity[];
  routes: Entity[];
  plugins: Entity[];
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A deterministic uuid (v5-shaped, from sha1), so declarative entities keep their ids across reloads. */
export function stableUuid(seed: string): string {
  const h = createHash('sha1').update(`kong-local-gateway:${seed}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

export function isUuid(v: unknown): v is string {
  return typeof v === 'string' && UUID_RE.test(v);
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export class Store {
  private data: Snapshot = { services: [], routes: [], plugins: [] };
  private listeners: Array<() => void> = [];
  version = 0;
  /** md5 of the declarative config last loaded through POST /config (its `check_hash` compares with it). */
  configHash: string | undefined;

  constructor(readonly catalog: PluginCatalog) {}

  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  snapshot(): Snapshot {
    return this.data;
  }

  list(type: EntityType): Entity[] {
    return this.data[type];
  }

  /** By id, or by name for services and routes (Kong's endpoint_key), or instance_name for plugins. */
  find(type: EntityType, idOrName: string): Entity | undefined {
    const all = this.data[type];
    if (isUuid(idOrName)) {
      const hit = all.find((e) => e.id === idOrName);
      if (hit) return hit;
    }
    const key = type === 'plugins' ? 'instance_name' : 'name';
    return all.find((e) => e[key] === idOrName);
  }

  // ---- validation -------------------------------------------------------------------------------------------

  /**
   * Validates one entity against `snap` (which may be a config being built); returns the stored shape.
   * `schemaOnly` skips unique names and foreign keys, as Kong's `/schemas/{entity}/validate` and the DAO's own
   * checks before the database is asked.
   */
  validate(type: EntityType, input: Record<string, unknown>, snap: Snapshot, existing?: Entity, opts: { schemaOnly?: boolean } = {}): Entity {
    if (!isPlainObject(input)) throw schemaViolation({ '@entity': ['expected an input table'] });
    const errors: Record<string, ErrorTree> = {};
    let data: Record<string, unknown> = { ...input };

    let urlError: string | undefined;
    if (type === 'services' && data.url !== undefined) {
      const expanded = expandServiceUrl(data.url);
      delete data.url;
      if (typeof expanded === 'string') urlError = expanded;
      else data = { ...data, ...expanded };
    }
    for (const ref of ['service', 'route', 'consumer'] as const) {
      if (typeof data[ref] === 'string') data[ref] = { id: data[ref] };
    }

    let fields: FieldList = type === 'services' ? SERVICE_FIELDS : type === 'routes' ? ROUTE_FIELDS : PLUGIN_ENVELOPE_FIELDS;
    let pluginConfigErrors: Record<string, ErrorTree> | undefined;
    if (type === 'plugins') {
      const nameErr = this.catalog.nameError(data.name);
      if (nameErr) errors.name = nameErr;
      else {
        const config = data.config === undefined || data.config === null ? {} : data.config;
        if (!isPlainObject(config)) errors.config = 'expected a record';
        else {
          const r = this.catalog.checkConfig(data.name as string, config);
          data.config = r.value;
          pluginConfigErrors = r.errors;
        }
      }
      // The envelope's `config` is checked above with the plugin's own schema.
      fields = PLUGIN_ENVELOPE_FIELDS.filter((f) => !('config' in f));
    }
    const configValue = data.config;
    if (type === 'plugins') delete data.config;
    const r = checkRecord(fields, data);
    const value = r.value;
    if (type === 'plugins') value.config = configValue ?? {};
    Object.assign(errors, r.errors ?? {});
    if (urlError !== undefined) {
      // The url is the mistake: not also "host: required field missing", which only follows from it.
      errors.url = urlError;
      if (data.host === undefined && errors.host === MESSAGES.REQUIRED) delete errors.host;
    }
    if (pluginConfigErrors) errors.config = pluginConfigErrors;
    if (type === 'routes' && !r.errors) {
      const ent = routeEntityErrors(value);
      if (ent.length > 0) errors['@entity'] = ent;
    }
    if (Object.keys(errors).length > 0) throw schemaViolation(errors);

    value.id = (value.id as string | null) ?? existing?.id ?? randomUUID();
    value.created_at = existing?.created_at ?? value.created_at ?? nowSeconds();
    value.updated_at = nowSeconds();
    const entity = value as Entity;
    if (!opts.schemaOnly) this.checkUniqueAndForeign(type, entity, snap);
    return entity;
  }

  private checkUniqueAndForeign(type: EntityType, e: Entity, snap: Snapshot): void {
    // Lookups through a per-list index, not scans: a declarative load validates each of 10,000 routes against
    // the routes before it, which scanning (and copying) made quadratic (issue 11: minutes of CPU).
    const nameKey = type === 'plugins' ? 'instance_name' : 'name';
    const own = indexFor(snap[type], nameKey);
    if (e[nameKey] !== null && e[nameKey] !== undefined && (own.byName.get(e[nameKey]) ?? []).some((x) => x.id !== e.id)) {
      throw uniqueViolation({ [nameKey]: e[nameKey] });
    }
    const resolveRef = (field: 'service' | 'route', parent: EntityType): void => {
      const ref = e[field];
      if (ref === null || ref === undefined) return;
      if (!isPlainObject(ref)) throw schemaViolation({ [field]: 'expected a record' });
      const key = (ref.id ?? ref.name) as unknown;
      const idx = indexFor(snap[parent], 'name');
      const target = typeof key === 'string' ? (idx.byId.get(key) ?? idx.byName.get(key)?.[0]) : undefined;
      if (!target) throw foreignKeyViolation(ref, field, parent);
      e[field] = { id: target.id };
    };
    if (type === 'routes') resolveRef('service', 'services');
    if (type === 'plugins') {
      resolveRef('service', 'services');
      resolveRef('route', 'routes');
      const same = (own.byScope.get(pluginScope(e)) ?? []).find((x) => x.id !== e.id);
      if (same) {
        throw uniqueViolation({
          name: e.name,
          route: e.route ?? null,
          service: e.service ?? null,
          consumer: e.consumer ?? null,
        });
      }
    }
  }

  // ---- single-entity writes, checked and refused ------------------------------------------------------------
  // The gateway runs as DB-less Kong (`database = off`): entities change only through a whole declarative config
  // (POST /config or the declarative_config file). An Admin API write is validated as Kong's DAO validates it
  // (a schema violation is a 400) and then refused by the admin layer with DB-less Kong's 405 (kong/db/
  // strategies/off/init.lua `unsupported`), so nothing is accepted that a restart would lose. These return
  // the entity the write would have stored; they change nothing.

  /** POST: Kong's DAO insert validates the schema (unique and foreign keys are the database's job). */
  checkInsert(type: EntityType, input: Record<string, unknown>): Entity {
    return this.validate(type, input, this.data, undefined, { schemaOnly: true });
  }

  /** PATCH: records (config) merged field by field, everything else replaced (Schema:merge_values). */
  checkUpdate(type: EntityType, existing: Entity, patch: Record<string, unknown>): Entity {
    const merged: Record<string, unknown> = { ...existing, ...patch };
    if (type === 'plugins' && isPlainObject(patch.config) && isPlainObject(existing.config)) {
      merged.config = mergeRecords(existing.config, patch.config);
    }
    if (type === 'services' && patch.url !== undefined) {
      for (const k of ['protocol', 'host', 'port', 'path']) if (!(k in patch)) delete merged[k];
    }
    delete merged.updated_at;
    merged.id = existing.id;
    return this.validate(type, merged, this.data, existing, { schemaOnly: true });
  }

  /** PUT: full replacement, or creation under the given id or name. */
  checkUpsert(type: EntityType, idOrName: string, input: Record<string, unknown>): Entity {
    const existing = this.find(type, idOrName);
    const body: Record<string, unknown> = { ...input };
    if (existing) body.id = existing.id;
    else if (isUuid(idOrName)) body.id = idOrName;
    else body[type === 'plugins' ? 'instance_name' : 'name'] = idOrName;
    return this.validate(type, body, this.data, existing, { schemaOnly: true });
  }

  /** Swaps in a fully validated declarative config. */
  replaceAll(next: Snapshot): void {
    this.data = next;
    this.configHash = undefined;
    this.version++;
    for (const fn of this.listeners) fn();
  }
}

/** Entities of one list by id, by name (or instance_name) and, for plugins, by name + scope. */
interface ListIndex {
  nameKey: string;
  /** How many entries of the list are indexed: lists only grow by push during a load, else are replaced. */
  count: number;
  byId: Map<string, Entity>;
  byName: Map<unknown, Entity[]>;
  byScope: Map<string, Entity[]>;
}

const listIndexes = new WeakMap<Entity[], ListIndex>();

function pluginScope(e: Entity): string {
  return JSON.stringify([e.name, refId(e.route) ?? null, refId(e.service) ?? null, refId(e.consumer) ?? null]);
}

function indexFor(list: Entity[], nameKey: string): ListIndex {
  let idx = listIndexes.get(list);
  if (!idx || idx.nameKey !== nameKey || idx.count > list.length) {
    idx = { nameKey, count: 0, byId: new Map(), byName: new Map(), byScope: new Map() };
    listIndexes.set(list, idx);
  }
  const push = <K>(m: Map<K, Entity[]>, k: K, e: Entity): void => {
    const l = m.get(k);
    if (l) l.push(e);
    else m.set(k, [e]);
  };
  for (; idx.count < list.length; idx.count++) {
    const e = list[idx.count] as Entity;
    if (typeof e.id === 'string' && !idx.byId.has(e.id)) idx.byId.set(e.id, e);
    if (e[nameKey] !== null && e[nameKey] !== undefined) push(idx.byName, e[nameKey], e);
    if (typeof e.name === 'string' && nameKey === 'instance_name') push(idx.byScope, pluginScope(e), e);
  }
  return idx;
}

export function refId(ref: unknown): string | undefined {
  return isPlainObject(ref) && typeof ref.id === 'string' ? ref.id : undefined;
}

function mergeRecords(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = isPlainObject(v) && isPlainObject(a[k]) ? mergeRecords(a[k] as Record<string, unknown>, v) : v;
  }
  return out;
}

export { ERROR_CODES, KongDaoError };
