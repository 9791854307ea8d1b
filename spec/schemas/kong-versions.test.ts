/**
 * Our definition against Kong's JSON schema export of every version 3.8-3.14 (spec/fixtures/schemas/kong-json):
 * every Kong field exists here with the same type, a compatible default, a superset enum, a range at least
 * as wide, the same referenceable/encrypted flags, and is not required here unless Kong requires it; and
 * every field here exists in Kong's newest export.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Field, RecordField } from '../../schemas/dsl';
import { PLUGIN_CONFIG } from '../../schemas/definition';
import { KONG_VERSIONS, loadKongJsonSchema } from '../helpers/schema-fixtures';

type JsonNode = {
  type?: string;
  properties?: Record<string, JsonNode>;
  items?: JsonNode;
  required?: string[];
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  'x-referenceable'?: boolean;
  'x-encrypted'?: boolean;
};

/**
 * Defaults that changed between versions: ours is the newest (3.14) value, older versions had another.
 * `undefined` = no default in that version.
 */
const NEWEST_WINS_DEFAULTS: Record<string, { older: unknown; ours: unknown; until: string }> = {
  'max_request_body_size': { older: 8192, ours: 1048576, until: '3.12' },
  'vectordb.redis.ssl_verify': { older: false, ours: true, until: '3.13' },
  'vectordb.pgvector.ssl_verify': { older: false, ours: true, until: '3.13' },
  'targets[].model.options.max_tokens': { older: 256, ours: undefined, until: '3.9' },
  'vectordb.redis.host': { older: undefined, ours: '127.0.0.1', until: '3.8' },
  'vectordb.redis.port': { older: undefined, ours: 6379, until: '3.8' },
};

/** Values we accept beyond every export: announced in Kong's 3.14 changelog, missing from the export. */
const EXTRA_ENUM_VALUES: Record<string, unknown[]> = {
  'targets[].route_type': ['llm/v1/multimodal-embeddings'],
};

function jsonTypeOf(n: JsonNode): string {
  if (n.type === 'object') return n.properties ? 'record' : 'json';
  return String(n.type);
}

function defaultOf(f: Field): unknown {
  return 'default' in f ? f.default : undefined;
}

function isMandatory(f: Field): boolean {
  return f.required === true && defaultOf(f) === undefined;
}

function compare(version: string, path: string, theirs: JsonNode, ours: Field, theirsRequired: boolean, problems: string[]) {
  const where = `${version} ${path}`;
  if (jsonTypeOf(theirs) !== ours.type) problems.push(`${where}: type ${jsonTypeOf(theirs)} vs ours ${ours.type}`);
  const nw = NEWEST_WINS_DEFAULTS[path];
  const expected = nw && compareVersions(version, nw.until) <= 0 ? nw.older : theirs.default;
  if (nw) assert.deepEqual(defaultOf(ours), nw.ours, `${path}: documented newest default`);
  const theirDefault = theirs.default;
  if (nw && compareVersions(version, nw.until) <= 0) {
    if (JSON.stringify(theirDefault) !== JSON.stringify(expected)) problems.push(`${where}: older default table is stale`);
  } else if (JSON.stringify(theirDefault) !== JSON.stringify(defaultOf(ours))) {
    problems.push(`${where}: default ${JSON.stringify(theirDefault)} vs ours ${JSON.stringify(defaultOf(ours))}`);
  }
  // A free-text field here accepts every value of an older enum (3.8's embeddings.model.name).
  if (theirs.enum && ours.type === 'string' && ours.one_of) {
    for (const v of theirs.enum) {
      if (!ours.one_of.includes(v as string)) problems.push(`${where}: enum value ${String(v)} missing`);
    }
  }
  if ((ours.type === 'integer' || ours.type === 'number') && ours.between) {
    const [lo, hi] = ours.between;
    if (theirs.minimum === undefined || theirs.minimum < lo) problems.push(`${where}: our minimum ${lo} is narrower`);
    if (theirs.maximum === undefined || theirs.maximum > hi) problems.push(`${where}: our maximum ${hi} is narrower`);
  }
  const ourLenMin = (ours.type === 'array' || ours.type === 'string') && ours.len_min !== undefined ? ours.len_min : 0;
  if (ourLenMin > (theirs.minLength ?? (ours.type === 'string' ? 1 : 0))) problems.push(`${where}: our len_min is stricter`);
  const ourRef = 'referenceable' in ours && ours.referenceable === true;
  const ourEnc = 'encrypted' in ours && ours.encrypted === true;
  if (theirs['x-referenceable'] && !ourRef) problems.push(`${where}: not referenceable here`);
  if (theirs['x-encrypted'] && !ourEnc) problems.push(`${where}: not encrypted here`);
  if (version === '3.14' && ourRef !== Boolean(theirs['x-referenceable'])) problems.push(`${where}: referenceable differs`);
  if (version === '3.14' && ourEnc !== Boolean(theirs['x-encrypted'])) problems.push(`${where}: encrypted differs`);
  if (isMandatory(ours) && !theirsRequired) problems.push(`${where}: required here but optional in Kong`);
  if (version === '3.14' && theirsRequired && !isMandatory(ours)) problems.push(`${where}: required in Kong, optional here`);
  if (theirs.properties && ours.type === 'record') compareRecord(version, path, theirs, ours, problems);
  if (theirs.items && ours.type === 'array') compare(version, `${path}[]`, theirs.items, ours.elements, false, problems);
}

function compareRecord(version: string, path: string, theirs: JsonNode, ours: RecordField, problems: string[]) {
  const required = new Set(theirs.required ?? []);
  for (const [k, child] of Object.entries(theirs.properties ?? {})) {
    const p = path === '' ? k : `${path}.${k}`;
    const mine = ours.fields[k];
    if (!mine) {
      problems.push(`${version} ${p}: missing here`);
      continue;
    }
    compare(version, p, child, mine, required.has(k), problems);
  }
}

function compareVersions(a: string, b: string): number {
  const [a1, a2] = a.split('.').map(Number) as [number, number];
  const [b1, b2] = b.split('.').map(Number) as [number, number];
  return a1 !== b1 ? a1 - b1 : a2 - b2;
}

function configNode(version: string): JsonNode {
  const doc = loadKongJsonSchema(version) as { properties: { config: JsonNode } };
  return doc.properties.config;
}

for (const version of KONG_VERSIONS) {
  test(`every field of Kong ${version}'s schema exists here with a compatible definition`, () => {
    const problems: string[] = [];
    compareRecord(version, '', configNode(version), PLUGIN_CONFIG, problems);
    assert.deepEqual(problems, []);
  });
}

test('every field defined here exists in Kong 3.14 and every enum value in some Kong version', () => {
  const problems: string[] = [];
  const nodes = KONG_VERSIONS.map(configNode);
  const walk = (path: string, field: Field, theirs: JsonNode[]) => {
    if (theirs.length === 0) problems.push(`${path}: in no Kong version`);
    if (field.type === 'string' && field.one_of) {
      const known = new Set([...theirs.flatMap((n) => n.enum ?? []), ...(EXTRA_ENUM_VALUES[path] ?? [])]);
      for (const v of field.one_of) if (!known.has(v)) problems.push(`${path}: enum value ${v} unknown to Kong`);
    }
    if (field.type === 'record') {
      for (const [k, f] of Object.entries(field.fields)) {
        const kids = theirs.flatMap((n) => (n.properties?.[k] ? [n.properties[k]] : []));
        if (!configNodeHas(nodes[nodes.length - 1] as JsonNode, `${path === '' ? '' : path + '.'}${k}`)) {
          problems.push(`${path === '' ? '' : path + '.'}${k}: not in Kong 3.14`);
        }
        walk(path === '' ? k : `${path}.${k}`, f, kids);
      }
    }
    if (field.type === 'array') {
      walk(`${path}[]`, field.elements, theirs.flatMap((n) => (n.items ? [n.items] : [])));
    }
  };
  walk('', PLUGIN_CONFIG, nodes);
  assert.deepEqual(problems, []);
});

function configNodeHas(root: JsonNode, path: string): boolean {
  let cur: JsonNode | undefined = root;
  for (const part of path.split('.')) {
    const [name, ...arr] = part.split('[]');
    cur = cur?.properties?.[name as string];
    for (let i = 0; i < arr.length; i++) cur = cur?.items;
  }
  return cur !== undefined;
}
