/**
 * The Admin API subset the local gateway serves, with Kong's shapes and error format (kong/api/**,
 * kong/db/errors.lua): `{data, next}` lists, 201 on create, 204 on delete, `{"message":"Not found"}`,
 * schema violations as `{"code":2,"name":"schema violation","message":…,"fields":…}`, and DB-less style
 * POST /config replacing the whole declarative configuration (code 14 on error). Changes apply at once: the
 * store notifies the gateway, which rebuilds the router and the plugins iterator (new `__seq__`).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import YAML from 'yaml';
import { buildSnapshotSliced, declarativeHash, parseDeclarativeText } from '../declarative/load';
import type { PluginCatalog } from '../plugin-catalog';
import { KONG_VERSION } from '../proxy/handler';
import { invalidSize, KongDaoError, operationUnsupported } from '../schema/errors';
import { PLUGIN_ENVELOPE_FIELDS, ROUTE_FIELDS, SERVICE_FIELDS } from '../schema/entities';
import { isPlainObject } from '../schema/kong-schema';
import type { Settings } from '../settings';
import { type Entity, type EntityType, isUuid, refId, type Snapshot, type Store } from '../store';
import { decodeArgs, inferRecord } from './arguments';
import { BadRequest, bodyKind, parseBody, parseForm, parseJson, parseMultipart, readLimited } from './body';
import type { FieldList } from '../schema/kong-schema';
import { corsHeaders, originRefusal } from './origin';

export interface AdminHost {
  settings: Settings;
  store: Store;
  catalog: PluginCatalog;
  nodeId: string;
  env: NodeJS.ProcessEnv;
  stats(): { accepted: number; active: number; total: number };
  /** Installs a whole configuration without holding the event loop (Gateway.replaceConfig). */
  replaceConfig?(snap: Snapshot): Promise<void>;
}

/** `json`: a body already serialised (large answers are built in slices, see slicedJson). */
type Reply = { status: number; body?: unknown; json?: string };

const notFound = (): Reply => ({ status: 404, body: { message: 'Not found' } });

/** Kong's page size (default 100, max_page_size 1000). */
export const PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/**
 * `size` as Kong checks it: kong/api/endpoints.lua get_page_size (tonumber, else "size must be a number"), then
 * kong/db/dao/init.lua validate_size_value; both are `invalid size` (code 9) errors, answered 400.
 */
export function pageSize(given: string | null): number {
  if (given === null) return PAGE_SIZE;
  const t = given.trim();
  const n = t === '' ? NaN : /^[-+]?0x[0-9a-f]+$/i.test(t) ? Number.parseInt(t.replace(/^([-+]?)0x/i, '$1'), 16) : Number(t);
  if (Number.isNaN(n)) throw invalidSize('size must be a number');
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) throw invalidSize(`size must be an integer between 1 and ${MAX_PAGE_SIZE}`);
  return n;
}

function list(entities: Entity[], query: URLSearchParams, path: string): Reply {
  const size = pageSize(query.get('size'));
  const offset = Number(Buffer.from(query.get('offset') ?? '', 'base64').toString('utf8') || 0) || 0;
  const tags = query.get('tags');
  let all = entities;
  if (tags) {
    const wanted = tags.split(/[,/]/);
    const and = tags.includes(',');
    all = all.filter((e) => {
      const t = (e.tags ?? []) as string[];
      return and ? wanted.every((w) => t.includes(w)) : wanted.some((w) => t.includes(w));
    });
  }
  const page = all.slice(offset, offset + size);
  const more = offset + size < all.length;
  const token = Buffer.from(String(offset + size)).toString('base64');
  return { status: 200, body: { data: page, next: more ? `${path}?offset=${encodeURIComponent(token)}` : null, ...(more ? { offset: token } : {}) } };
}

/** health.lua: the hash of the declarative config loaded through POST /config, else of what is in memory. */
function configHash(store: Store): string {
  return store.configHash ?? createHash('md5').update(JSON.stringify(store.snapshot())).digest('hex');
}

/** POST /config runs one at a time, in arrival order: a slow load cannot be overtaken by an older one. */
let configQueue: Promise<unknown> = Promise.resolve();

export async function handleAdminRequest(host: AdminHost, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = Date.now();
  let reply: Reply;
  try {
    const refused = originRefusal(host.settings, req);
    if (refused) {
      req.resume();
      reply = refused;
    } else if (req.method === 'OPTIONS') {
      reply = { status: 204 };
    } else reply = await route(host, req);
  } catch (err) {
    if (err instanceof KongDaoError) reply = { status: err.status, body: err.body };
    else if (err instanceof BadRequest) {
      reply = { status: err.status, body: err.body };
      // A refused body is not read any further: close the connection instead of draining it.
      if (err.status === 413) res.shouldKeepAlive = false;
    }
    else {
      process.stderr.write(`[admin] unexpected error: ${(err as Error).stack ?? String(err)}\n`);
      reply = { status: 500, body: { message: 'An unexpected error occurred' } };
    }
  }
  const body = reply.json ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
  res.writeHead(reply.status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    Server: `kong/${KONG_VERSION}`,
    ...corsHeaders(host.settings, req),
    'X-Kong-Admin-Latency': String(Date.now() - started),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

async function route(host: AdminHost, req: IncomingMessage): Promise<Reply> {
  let url: URL;
  let parts: string[];
  try {
    url = new URL(req.url ?? '/', 'http://admin');
    parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    // `GET /routes/%zz`: an undecodable path is the client's mistake.
    throw new BadRequest('Bad request');
  }
  const method = req.method ?? 'GET';
  const { store } = host;
  const limits = { maxBodySize: host.settings.adminClientMaxBodySize };
  /** The body of a write to `type` (form values typed by its schema; a plugin's by its name or `existing`'s). */
  const body = async (type: EntityType = 'plugins', existing?: Entity): Promise<Record<string, unknown>> =>
    parseBody(req, limits, (params) => inferRecord(params, entityFields(host.catalog, type, params, existing)));

  if (parts.length === 0) return method === 'GET' ? { status: 200, body: nodeInfo(host) } : notAllowed();
  const [head, a, b, c] = parts;
  if (head === 'status' && parts.length === 1) {
    const s = host.stats();
    return {
      status: 200,
      body: {
        database: { reachable: true },
        memory: { workers_lua_vms: [{ http_allocated_gc: `${(process.memoryUsage().heapUsed / 1048576).toFixed(2)} MiB`, pid: process.pid }], lua_shared_dicts: {} },
        server: { connections_accepted: s.accepted, connections_active: s.active, connections_handled: s.accepted, connections_reading: 0, connections_waiting: 0, connections_writing: s.active, total_requests: s.total },
        configuration_hash: configHash(store),
      },
    };
  }
  if (head === 'config' && parts.length === 1) {
    if (method === 'GET') return { status: 200, body: { config: YAML.stringify(exportConfig(store)) } };
    if (method !== 'POST') return notAllowed();
    const given = await configText(req, limits);
    // kong/api/routes/config.lua: `check_hash=1` (query or body) answers 304 when the config is the one loaded.
    const checkHash = String(url.searchParams.get('check_hash') ?? given.checkHash ?? '') === '1';
    const hash = declarativeHash(given.config);
    if (checkHash && hash === store.configHash) return { status: 304 };
    const doc = typeof given.config === 'string' ? parseDeclarativeText(given.config, 'POST /config', host.env) : given.config;
    const load = configQueue.then(async () => {
      const snap = await buildSnapshotSliced(doc, store, 'POST /config');
      if (host.replaceConfig) await host.replaceConfig(snap);
      else store.replaceAll(snap);
      store.configHash = hash;
      return snap;
    });
    configQueue = load.catch(() => undefined);
    const snap = await load;
    return { status: 201, json: await slicedJson({ services: snap.services, routes: snap.routes, plugins: snap.plugins }) };
  }
  if (head === 'plugins' && a === 'enabled' && parts.length === 2) return { status: 200, body: { enabled_plugins: [...host.catalog.enabled].filter((n) => n !== 'bundled') } };
  if (head === 'schemas' && b === 'validate' && parts.length === 3 && (a === 'services' || a === 'routes' || a === 'plugins')) {
    // kong/api/routes/kong.lua validate_schema: the schema alone (defaults, fields, entity checks), no lookups.
    if (method !== 'POST') return notAllowed();
    store.validate(a, await body(a), store.snapshot(), undefined, { schemaOnly: true });
    return { status: 200, body: { message: 'schema validation successful' } };
  }
  if (head === 'schemas' && a === 'plugins' && b !== undefined && parts.length === 3) {
    const info = host.catalog.get(b);
    if (!info) return { status: 404, body: { message: `No plugin named '${b}'` } };
    return { status: 200, body: pluginSchema(info.configFields) };
  }
  if (head === 'schemas' && (a === 'services' || a === 'routes' || a === 'plugins') && parts.length === 2) {
    // The entity schemas the gateway validates with (functions such as custom validators are not serialisable).
    const fields = a === 'services' ? SERVICE_FIELDS : a === 'routes' ? ROUTE_FIELDS : PLUGIN_ENVELOPE_FIELDS;
    return { status: 200, body: { fields } };
  }
  if (head === 'schemas' && b === 'validate' && parts.length === 3) return { status: 404, body: { message: `No entity named '${a}'` } };

  if (head !== 'services' && head !== 'routes' && head !== 'plugins') return notFound();
  const type: EntityType = head;
  if (a === undefined) {
    if (method === 'GET' || method === 'HEAD') return list(store.list(type), url.searchParams, `/${type}`);
    if (method === 'POST') return refuseInsert(store, type, await body(type));
    return notAllowed();
  }
  const parent = store.find(type, a);
  if (b === undefined) return entityEndpoint(host, type, a, parent, method, body);
  // Nested: /services/{s}/routes, /services/{s}/plugins[/{p}], /routes/{r}/plugins[/{p}], /routes/{r}/service.
  if (!parent) return notFound();
  const field = type === 'services' ? 'service' : 'route';
  if (type === 'routes' && b === 'service' && c === undefined) {
    const sid = refId(parent.service);
    const s = sid ? store.find('services', sid) : undefined;
    if (!s) return notFound();
    // kong/api/endpoints.lua: the route's service, read or written as if addressed directly.
    return entityEndpoint(host, 'services', s.id, s, method, body);
  }
  const child: EntityType | undefined = b === 'routes' && type === 'services' ? 'routes' : b === 'plugins' && type !== 'plugins' ? 'plugins' : undefined;
  if (!child) return notFound();
  if (c !== undefined) {
    if (parts.length > 4) return notFound();
    // /routes/{r}/plugins/{p}, /services/{s}/plugins/{p}, /services/{s}/routes/{r}: only a child of that parent.
    const own = store.find(child, c);
    const mine = own && refId(own[field]) === parent.id ? own : undefined;
    if (own && !mine) return notFound();
    return entityEndpoint(host, child, c, mine, method, async (t, e) => ({ ...(await body(t, e)), [field]: { id: parent.id } }));
  }
  if (method === 'GET' || method === 'HEAD') return list(store.list(child).filter((e) => refId(e[field]) === parent.id), url.searchParams, `/${type}/${a}/${b}`);
  if (method === 'POST') return refuseInsert(store, child, { ...(await body(child)), [field]: { id: parent.id } });
  return notAllowed();
}

type BodyReader = (type: EntityType, existing?: Entity) => Promise<Record<string, unknown>>;

/** The endpoint key a write names the entity by: its id, or its name (instance_name for plugins). */
function byField(type: EntityType, key: string): string | undefined {
  return isUuid(key) ? undefined : type === 'plugins' ? 'instance_name' : 'name';
}

/**
 * DB-less Kong's POST: the DAO validates the entity (a schema violation is a 400), then the off strategy
 * refuses to store it (405, kong/db/strategies/off/init.lua). Entities change through POST /config.
 */
function refuseInsert(store: Store, type: EntityType, params: Record<string, unknown>): never {
  store.checkInsert(type, params);
  throw operationUnsupported('create', type);
}

/** GET, PATCH, PUT and DELETE on one entity, as DB-less Kong answers them (kong/api/endpoints.lua + off strategy). */
async function entityEndpoint(host: AdminHost, type: EntityType, key: string, existing: Entity | undefined, method: string, body: BodyReader): Promise<Reply> {
  const { store } = host;
  switch (method) {
    case 'GET':
    case 'HEAD':
      return existing ? { status: 200, body: existing } : notFound();
    case 'PATCH':
      if (!existing) return notFound();
      store.checkUpdate(type, existing, await body(type, existing));
      throw operationUnsupported('update', type, byField(type, key));
    case 'PUT':
      store.checkUpsert(type, key, await body(type, existing));
      throw operationUnsupported('create or update', type, byField(type, key));
    case 'DELETE':
      // The DAO looks the entity up first: deleting what is not there succeeds (kong/db/dao/init.lua delete).
      if (!existing) return { status: 204 };
      throw operationUnsupported('remove', type, byField(type, key));
    default:
      return notAllowed();
  }
}

/**
 * The schema that types a form body (arguments.decode(args, schema)): the entity's fields; for plugins the
 * envelope with the named plugin's `config` fields (Kong's plugins subschema, chosen by `name`, or for a PATCH
 * without one by the stored plugin's name as kong/api/routes/plugins.lua patch_plugin does).
 */
function entityFields(catalog: PluginCatalog, type: EntityType, params: Record<string, unknown>, existing?: Entity): FieldList {
  if (type === 'services') return SERVICE_FIELDS;
  if (type === 'routes') return ROUTE_FIELDS;
  const name = typeof params.name === 'string' ? params.name : existing?.name;
  const info = typeof name === 'string' ? catalog.get(name) : undefined;
  if (!info) return PLUGIN_ENVELOPE_FIELDS;
  return PLUGIN_ENVELOPE_FIELDS.map((f) => ('config' in f ? { config: { type: 'record', fields: info.configFields } } : f));
}

function notAllowed(): Reply {
  return { status: 405, body: { message: 'Method not allowed' } };
}

/**
 * `{"services":{id:entity,…},…}` (POST /config's answer) serialised a slice at a time: one JSON.stringify of
 * 10,000 routes held the event loop ~200 ms.
 */
async function slicedJson(lists: Record<string, Entity[]>, sliceMs = 10): Promise<string> {
  const parts: string[] = [];
  let start = performance.now();
  for (const [name, list] of Object.entries(lists)) {
    const items: string[] = [];
    for (const e of list) {
      items.push(`${JSON.stringify(e.id)}:${JSON.stringify(e)}`);
      if (performance.now() - start >= sliceMs) {
        await new Promise<void>((r) => setImmediate(r));
        start = performance.now();
      }
    }
    parts.push(`${JSON.stringify(name)}:{${items.join(',')}}`);
  }
  return `{${parts.join(',')}}`;
}

function asMap(list: Entity[]): Record<string, Entity> {
  return Object.fromEntries(list.map((e) => [e.id, e]));
}

/**
 * The declarative text of POST /config (kong/api/routes/config.lua): the `config` param of a JSON, form or
 * multipart body (a string, or in JSON an object), or a YAML body itself.
 */
async function configText(req: IncomingMessage, limits: { maxBodySize: number }): Promise<{ config: string | Record<string, unknown>; checkHash?: unknown }> {
  const kind = bodyKind(req, true);
  const raw = await readLimited(req, limits);
  const text = raw.toString('utf8');
  if (kind === 'yaml' || kind === 'none') return { config: text };
  let params: Record<string, unknown>;
  if (kind === 'json') {
    const parsed = parseJson(text);
    if (!isPlainObject(parsed)) throw new BadRequest('Cannot parse JSON body');
    // Already parsed and shape-checked: not serialised and parsed again (a 10,000-route body costs ~50 ms a pass).
    if (isPlainObject(parsed.config)) return { config: parsed.config, checkHash: parsed.check_hash };
    if (typeof parsed.config !== 'string') {
      const { check_hash: checkHash, flatten_errors: _f, ...doc } = parsed;
      return { config: doc, checkHash };
    }
    params = parsed;
  } else if (kind === 'form') params = parseForm(text);
  else {
    // `curl -F config=@kong.yml`: the part's text as sent, whatever its Content-Type (Kong's tostring(part)).
    const pairs = parseMultipart(raw, req.headers['content-type'] ?? '');
    params = decodeArgs(pairs.filter(([k]) => k !== 'config'));
    const part = pairs.find(([k]) => k === 'config')?.[1];
    params.config = typeof part === 'string' ? part : part?.text;
  }
  return { config: typeof params.config === 'string' ? params.config : '', checkHash: params.check_hash };
}

function pluginSchema(configFields: unknown): Record<string, unknown> {
  return {
    fields: [
      { consumer: { type: 'foreign', reference: 'consumers', eq: null } },
      { protocols: { type: 'set', required: true, default: ['grpc', 'grpcs', 'http', 'https'], elements: { type: 'string', one_of: ['grpc', 'grpcs', 'http', 'https'] } } },
      { config: { type: 'record', required: true, fields: configFields } },
    ],
  };
}

/** The current configuration as a declarative document (GET /config). */
export function exportConfig(store: Store): Record<string, unknown> {
  const strip = (e: Entity): Record<string, unknown> => {
    const { created_at: _c, updated_at: _u, ...rest } = e;
    return rest;
  };
  const s = store.snapshot();
  return { _format_version: '3.0', services: s.services.map(strip), routes: s.routes.map(strip), plugins: s.plugins.map(strip) };
}

function nodeInfo(host: AdminHost): Record<string, unknown> {
  const available: Record<string, unknown> = {};
  for (const name of host.catalog.availableNames()) {
    const info = host.catalog.get(name);
    if (info) available[name] = { version: info.version, priority: info.priority };
  }
  const inUse = [...new Set(host.store.list('plugins').map((p) => p.name as string))].sort();
  const s = host.settings;
  return {
    version: KONG_VERSION,
    edition: 'community',
    tagline: 'Welcome to kong',
    node_id: host.nodeId,
    hostname: os.hostname(),
    lua_version: 'none (local Kong-compatible gateway in Node.js)',
    plugins: { available_on_server: available, enabled_in_cluster: inUse },
    configuration: {
      database: 'off',
      role: 'traditional',
      router_flavor: 'traditional_compatible',
      prefix: s.prefix,
      declarative_config: s.declarativeConfig ?? null,
      proxy_listen: s.proxyListen.map((l) => `${l.host}:${l.port}`),
      admin_listen: s.adminListen.map((l) => `${l.host}:${l.port}`),
      plugins: s.plugins,
      pluginserver_names: s.pluginServers.map((p) => p.name),
      nginx_worker_processes: s.workerProcesses,
      log_level: s.logLevel,
    },
    pids: { master: process.pid, workers: [process.pid] },
    timers: { running: 0, pending: 0 },
  };
}
