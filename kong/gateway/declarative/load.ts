/**
 * decK / Kong declarative configuration (`_format_version: "3.0"`): YAML or JSON, with decK's
 * `${{ env "DECK_X" }}` placeholders rendered first. Nested entities (services[].routes[], services[].plugins[],
 * routes[].plugins[]) are flattened with their parent's id filled in, top-level references by name or id are
 * resolved, and every entity is validated as the Admin API would. All errors are collected and reported the
 * way Kong's POST /config does (code 14, `flattened_errors`), each naming the entity and the field.
 * Entities without an id get a stable one derived from their name (or position), so reloading an unchanged
 * file keeps plugin ids — and with them the plugin instances — the same.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { ERROR_CODES, KongDaoError } from '../schema/errors';
import { type ErrorTree, isPlainObject } from '../schema/kong-schema';
import { type Entity, type EntityType, type Snapshot, stableUuid, type Store } from '../store';
import { bracketsTooDeep, checkShape, jsonTooDeep, MAX_DEPTH } from '../admin/body';
import { substituteDeckEnv } from './deck-env';

const SINGULAR: Record<EntityType, string> = { services: 'service', routes: 'route', plugins: 'plugin' };
const SUPPORTED_VERSIONS = ['3.0'];
const UNSUPPORTED_COLLECTIONS = [
  'consumers',
  'consumer_groups',
  'upstreams',
  'targets',
  'certificates',
  'ca_certificates',
  'snis',
  'vaults',
  'keys',
  'key_sets',
  'filter_chains',
  'partials',
];
const IGNORED_KEYS = ['_format_version', '_transform', '_info', '_workspace', '_konnect', '_comment'];

export interface FlattenedError {
  entity_type: string;
  entity_name?: string;
  entity_id?: string;
  entity?: Record<string, unknown>;
  /** Where the entity sits in the file, e.g. `services[1].routes[2]` (1-based, like Kong's error tables). */
  entity_path: string;
  errors: Array<{ type: 'field' | 'entity'; field?: string; message: string }>;
}

export class DeclarativeError extends KongDaoError {
  constructor(
    readonly source: string,
    message: string,
    readonly flattened: FlattenedError[],
    fields: Record<string, unknown>,
  ) {
    super(400, {
      code: ERROR_CODES.INVALID_DECLARATIVE_CONFIGURATION,
      name: 'invalid declarative configuration',
      message,
      fields,
      flattened_errors: flattened,
    });
    this.name = 'DeclarativeError';
  }
}

/** Parses text as YAML (a superset of JSON), after decK env rendering. */
export function parseDeclarativeText(text: string, source: string, env: NodeJS.ProcessEnv): Record<string, unknown> {
  let rendered: string;
  try {
    rendered = substituteDeckEnv(text, env);
  } catch (err) {
    throw new DeclarativeError(source, `${source}: ${(err as Error).message}`, [], {});
  }
  let doc: unknown;
  // JSON first, as Kong's declarative parse_string tries cjson before YAML: it is also ~50 times faster than
  // the YAML parser on a 10,000-route document. Nesting is checked before either parser recurses.
  if (jsonTooDeep(rendered)) throw new DeclarativeError(source, `${source}: nested deeper than ${MAX_DEPTH} levels`, [], {});
  if (/^\s*\{/.test(rendered)) {
    try {
      doc = JSON.parse(rendered);
    } catch {
      doc = undefined;
    }
  }
  // YAML quotes differently: a stray `"` made the JSON scan skip the rest, and a deep flow collection after it
  // reached the YAML parser's recursion (1.5 s of CPU and ~300 MB for a 400 KB POST /config).
  if (doc === undefined && bracketsTooDeep(rendered)) throw new DeclarativeError(source, `${source}: nested deeper than ${MAX_DEPTH} levels`, [], {});
  if (doc === undefined) try {
    doc = YAML.parse(rendered, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    throw new DeclarativeError(source, `${source}: failed parsing declarative configuration: ${(err as Error).message}`, [], {});
  }
  if (!isPlainObject(doc)) throw new DeclarativeError(source, `${source}: expected an object at the top level`, [], {});
  try {
    checkShape(doc, source);
  } catch (err) {
    throw new DeclarativeError(source, (err as Error).message, [], {});
  }
  return doc;
}

export function readDeclarativeText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new DeclarativeError(file, `${file}: could not read declarative configuration: ${(err as Error).message}`, [], {});
  }
}

/**
 * The configuration hash Kong keeps for a declarative config (kong/db/declarative/init.lua unserialize:
 * md5 of the text as given; of its JSON when it came as an object), reported by GET /status and compared by
 * POST /config?check_hash=1.
 */
export function declarativeHash(given: string | Record<string, unknown>): string {
  return createHash('md5').update(typeof given === 'string' ? given : JSON.stringify(given)).digest('hex');
}

interface Item {
  type: EntityType;
  input: Record<string, unknown>;
  path: Array<string | number>;
  /** Whether the file gave the id (otherwise it was derived). */
  givenId?: boolean;
}

const raw = (item: Item): { id?: unknown } => (item.givenId ? { id: item.input.id } : {});

function flattenFieldErrors(tree: ErrorTree, prefix: string, out: FlattenedError['errors']): void {
  if (typeof tree === 'string') {
    out.push(prefix === '@entity' ? { type: 'entity', message: tree } : { type: 'field', field: prefix, message: tree });
  } else if (Array.isArray(tree)) {
    tree.forEach((t, i) => {
      if (t === null) return;
      if (prefix === '@entity') flattenFieldErrors(t, '@entity', out);
      else flattenFieldErrors(t, `${prefix}.${i + 1}`, out);
    });
  } else {
    for (const [k, v] of Object.entries(tree)) flattenFieldErrors(v, prefix === '' ? k : `${prefix}.${k}`, out);
  }
}

function describe(path: Array<string | number>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p + 1}]` : i === 0 ? p : `.${p}`)).join('');
}

function setIn(root: Record<string, unknown>, path: Array<string | number>, value: unknown): void {
  let cur: Record<string, unknown> | unknown[] = root;
  path.forEach((seg, i) => {
    const last = i === path.length - 1;
    const nextIsIndex = typeof path[i + 1] === 'number';
    const c = cur as Record<string | number, unknown>;
    if (last) {
      c[seg] = value;
      return;
    }
    if (c[seg] === undefined || c[seg] === null) c[seg] = nextIsIndex ? [] : {};
    cur = c[seg] as Record<string, unknown>;
  });
  if (Array.isArray(cur)) for (let i = 0; i < cur.length; i++) if (cur[i] === undefined) cur[i] = null;
}

/** Validates a declarative document and returns the snapshot to install (throws DeclarativeError). */
export function buildSnapshot(doc: Record<string, unknown>, store: Store, source: string): Snapshot {
  const steps = buildSteps(doc, store, source);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * buildSnapshot for a running gateway (Admin API POST /config): gives the event loop back whenever a slice has
 * run `sliceMs`, so proxying goes on while 10,000 routes are validated (issue 11: one load blocked it 6 s).
 * `now` is injectable so tests can count slices without timing anything.
 */
export async function buildSnapshotSliced(
  doc: Record<string, unknown>,
  store: Store,
  source: string,
  opts: { sliceMs?: number; now?: () => number } = {},
): Promise<Snapshot> {
  const sliceMs = opts.sliceMs ?? 10;
  const now = opts.now ?? (() => performance.now());
  const steps = buildSteps(doc, store, source);
  let sliceStart = now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (now() - sliceStart >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = now();
    }
  }
}

/** The work of buildSnapshot, yielding after each entity so a caller can pause between them. */
function* buildSteps(doc: Record<string, unknown>, store: Store, source: string): Generator<void, Snapshot> {
  const topErrors: Record<string, ErrorTree> = {};
  const version = doc._format_version;
  if (version === undefined) topErrors._format_version = 'required field missing';
  else if (!SUPPORTED_VERSIONS.includes(String(version)))
    topErrors._format_version = `unsupported _format_version '${String(version)}' (the local gateway reads "3.0"; run 'deck file convert' first)`;
  for (const key of Object.keys(doc)) {
    if (IGNORED_KEYS.includes(key) || key === 'services' || key === 'routes' || key === 'plugins') continue;
    const v = doc[key];
    if (UNSUPPORTED_COLLECTIONS.includes(key)) {
      if (Array.isArray(v) && v.length === 0) continue;
      topErrors[key] = `'${key}' are not supported by the local gateway; use Kong for them`;
    } else topErrors[key] = 'unknown field';
  }

  const items: Item[] = [];
  const flattened: FlattenedError[] = [];
  const fields: Record<string, unknown> = {};
  const record = (item: Item, tree: Record<string, ErrorTree>): void => {
    const errs: FlattenedError['errors'] = [];
    flattenFieldErrors(tree, '', errs);
    const name = item.input.name ?? item.input.instance_name;
    flattened.push({
      entity_type: SINGULAR[item.type],
      ...(typeof name === 'string' ? { entity_name: name } : {}),
      ...(typeof item.input.id === 'string' ? { entity_id: item.input.id } : {}),
      entity: item.input,
      entity_path: describe(item.path),
      errors: errs,
    });
    setIn(fields, item.path, tree);
  };
  function* collect(list: unknown, type: EntityType, path: Array<string | number>, parent?: { field: 'service' | 'route'; id: string }): Generator<void, void> {
    if (list === undefined || list === null) return;
    if (!Array.isArray(list)) {
      setIn(fields, path, 'expected an array');
      flattened.push({ entity_type: SINGULAR[type], entity_path: describe(path), errors: [{ type: 'field', field: describe(path), message: 'expected an array' }] });
      return;
    }
    for (let i = 0; i < list.length; i++) {
      const raw: unknown = list[i];
      yield;
      const p = [...path, i];
      if (!isPlainObject(raw)) {
        record({ type, input: {}, path: p }, { '@entity': ['expected a record'] });
        continue;
      }
      const input: Record<string, unknown> = { ...raw };
      const nested: Array<[string, EntityType]> = type === 'services' ? [['routes', 'routes'], ['plugins', 'plugins']] : type === 'routes' ? [['plugins', 'plugins']] : [];
      for (const [k] of nested) delete input[k];
      if (parent) {
        if (input[parent.field] !== undefined && input[parent.field] !== null) {
          record({ type, input, path: p }, { [parent.field]: `value must be null (nested under its ${parent.field})` });
          continue;
        }
        input[parent.field] = { id: parent.id };
      }
      const givenId = input.id !== undefined;
      if (!givenId) {
        const key =
          type === 'plugins'
            ? `${String(input.name)}|${JSON.stringify(input.route ?? null)}|${JSON.stringify(input.service ?? null)}|${String(input.instance_name ?? '')}`
            : typeof input.name === 'string'
              ? input.name
              : `${describe(p)}`;
        input.id = stableUuid(`${type}:${key}`);
      }
      items.push({ type, input, path: p, givenId });
      for (const [k, childType] of nested) {
        yield* collect(raw[k], childType, [...p, k], {
          field: type === 'services' ? 'service' : 'route',
          id: input.id as string,
        });
      }
    }
  }
  yield* collect(doc.services, 'services', ['services']);
  yield* collect(doc.routes, 'routes', ['routes']);
  yield* collect(doc.plugins, 'plugins', ['plugins']);

  // Validate parents before children so references resolve within the new config.
  const snap: Snapshot = { services: [], routes: [], plugins: [] };
  for (const type of ['services', 'routes', 'plugins'] as const) {
    const seen = new Set<string>();
    for (const item of items.filter((x) => x.type === type)) {
      const id = String(item.input.id);
      if (seen.has(id)) {
        // Kong's declarative loader: duplicates are reported by endpoint key (name) or primary key.
        const byName = typeof item.input.name === 'string' && raw(item).id === undefined;
        record(item, {
          '@entity': [
            byName
              ? `uniqueness violation: '${type}' entity with name set to '${String(item.input.name)}' already declared`
              : `uniqueness violation: '${type}' entity with primary key set to '${id}' already declared`,
          ],
        });
        continue;
      }
      seen.add(id);
      yield;
      try {
        const e: Entity = store.validate(type, item.input, snap);
        snap[type].push(e);
      } catch (err) {
        if (!(err instanceof KongDaoError)) throw err;
        const f = err.body.fields as Record<string, ErrorTree> | undefined;
        record(item, f && Object.keys(f).length > 0 && err.body.code === ERROR_CODES.SCHEMA_VIOLATION ? f : { '@entity': [err.body.message] });
      }
    }
  }

  for (const [k, v] of Object.entries(topErrors)) {
    fields[k] = v;
    flattened.unshift({ entity_type: 'declarative config', entity_path: k, errors: [{ type: 'field', field: k, message: v as string }] });
  }
  if (flattened.length > 0) {
    const lines = flattened.map((f) => {
      const msgs = f.errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ');
      if (f.entity_type === 'declarative config') return msgs;
      return `in ${f.entity_path}${f.entity_name ? ` (${f.entity_type} '${f.entity_name}')` : ` (${f.entity_type})`}: ${msgs}`;
    });
    throw new DeclarativeError(source, `declarative config is invalid:\n  ${lines.join('\n  ')}`, flattened, fields);
  }
  return snap;
}
