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
import { buildSnapshotSliced, parseDeclarativeText } from '../declarative/load';
import type { PluginCatalog } from '../plugin-catalog';
import { KONG_VERSION } from '../proxy/handler';
import { KongDaoError } from '../schema/errors';
import { PLUGIN_ENVELOPE_FIELDS, ROUTE_FIELDS, SERVICE_FIELDS } from '../schema/entities';
import { isPlainObject } from '../schema/kong-schema';
import type { Settings } from '../settings';
import { type Entity, type EntityType, refId, type Snapshot, type Store } from '../store';
import { BadRequest, bodyKind, nestParams, parseBody, parseForm, parseJson, parseMultipart, readLimited } from './body';
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

function list(entities: Entity[], query: URLSearchParams, path: string): Reply {
  const size = Math.max(1, Math.min(1000, Number(query.get('size') ?? 100) || 100));
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

function configHash(store: Store): string {
  return createHash('md5').update(JSON.stringify(store.snapshot())).digest('hex');
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
  const body = async (): Promise<Record<string, unknown>> => parseBody(req, limits);

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
    const doc = typeof given === 'string' ? parseDeclarativeText(given, 'POST /config', host.env) : given;
    const load = configQueue.then(async () => {
      const snap = await buildSnapshotSliced(doc, store, 'POST /config');
      if (host.replaceConfig) await host.replaceConfig(snap);
      else store.replaceAll(snap);
      return snap;
    });
    configQueue = load.catch(() => undefined);
    const snap = await load;
    return { status: 201, json: await slicedJson({ services: snap.services, routes: snap.routes, plugins: snap.plugins }) };
  }
  if (head === 'plugins' && a === 'enabled' && parts.length === 2) return { status: 200, body: { enabled_plugins: [...host.catalog.enabled].filter((n) => n !== 'bundled') } };
  if (head === 'schemas' && a === 'plugins') {
    if (b === 'validate' && parts.length === 3) {
      if (method !== 'POST') return notAllowed();
      store.validate('plugins', await body(), { ...store.snapshot(), plugins: [] });
      return { status: 200, body: { message: 'schema validation successful' } };
    }
    if (b !== undefined && parts.length === 3) {
      const info = host.catalog.get(b);
      if (!info) return { status: 404, body: { message: `No plugin named '${b}'` } };
      return { status: 200, body: pluginSchema(info.configFields) };
    }
  }
  if (head === 'schemas' && (a === 'services' || a === 'routes' || a === 'plugins') && parts.length === 2) {
    // The entity schemas the gateway validates with (functions such as custom validators are not serialisable).
    const fields = a === 'services' ? SERVICE_FIELDS : a === 'routes' ? ROUTE_FIELDS : PLUGIN_ENVELOPE_FIELDS;
    return { status: 200, body: { fields } };
  }

  if (head !== 'services' && head !== 'routes' && head !== 'plugins') return notFound();
  const type: EntityType = head;
  if (a === undefined) {
    if (method === 'GET') return list(store.list(type), url.searchParams, `/${type}`);
    if (method === 'POST') return { status: 201, body: store.insert(type, await body()) };
    return notAllowed();
  }
  const parent = store.find(type, a);
  if (b === undefined) {
    switch (method) {
      case 'GET':
        return parent ? { status: 200, body: parent } : notFound();
      case 'PATCH': {
        if (!parent) return notFound();
        return { status: 200, body: store.update(type, a, await body()) };
      }
      case 'PUT': {
        const r = store.upsert(type, a, await body());
        return { status: 200, body: r.entity };
      }
      case 'DELETE':
        store.delete(type, a);
        return { status: 204 };
      default:
        return notAllowed();
    }
  }
  // Nested collections: /services/{s}/routes, /services/{s}/plugins, /routes/{r}/plugins, /routes/{r}/service.
  if (!parent) return notFound();
  if (c !== undefined) return notFound();
  const field = type === 'services' ? 'service' : 'route';
  if (type === 'routes' && b === 'service') {
    const sid = refId(parent.service);
    const s = sid ? store.find('services', sid) : undefined;
    return s ? { status: 200, body: s } : notFound();
  }
  const child: EntityType | undefined = b === 'routes' && type === 'services' ? 'routes' : b === 'plugins' && type !== 'plugins' ? 'plugins' : undefined;
  if (!child) return notFound();
  if (method === 'GET') return list(store.list(child).filter((e) => refId(e[field]) === parent.id), url.searchParams, `/${type}/${a}/${b}`);
  if (method === 'POST') return { status: 201, body: store.insert(child, { ...(await body()), [field]: { id: parent.id } }) };
  return notAllowed();
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
async function configText(req: IncomingMessage, limits: { maxBodySize: number }): Promise<string | Record<string, unknown>> {
  const kind = bodyKind(req, true);
  const raw = await readLimited(req, limits);
  const text = raw.toString('utf8');
  if (kind === 'yaml' || kind === 'none') return text;
  let params: Record<string, unknown>;
  if (kind === 'json') {
    const parsed = parseJson(text);
    if (!isPlainObject(parsed)) throw new BadRequest('Cannot parse JSON body');
    // Already parsed and shape-checked: not serialised and parsed again (a 10,000-route body costs ~50 ms a pass).
    if (isPlainObject(parsed.config)) return parsed.config;
    if (typeof parsed.config !== 'string') return parsed;
    params = parsed;
  } else params = kind === 'form' ? parseForm(text) : nestParams(parseMultipart(raw, req.headers['content-type'] ?? ''));
  return typeof params.config === 'string' ? params.config : '';
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
