/**
 * JSON Schema (draft-07) of the plugin config, derived from the definition. It validates both a raw config
 * (missing optional fields) and a filled one (unset fields null): every optional field also accepts null.
 * Kong's flags are kept as `x-referenceable` / `x-encrypted` annotations (the names Kong's own JSON export
 * uses), defaults as `default`. A referenceable field accepts a `{vault://...}` reference in place of its value
 * whatever its other constraints (Kong skips validation for references, kong/db/schema/init.lua).
 */
import type { Field, RecordField } from './dsl';

export type JsonSchema = Record<string, unknown>;

/** Kong's is_reference (kong/pdk/vault.lua): `{vault://` ... `}`. */
export const VAULT_REFERENCE = /^\{vault:\/\/.*\}$/;
const VAULT_REFERENCE_SCHEMA = { type: 'string', pattern: VAULT_REFERENCE.source };

function typeOf(t: string, nullable: boolean): string | string[] {
  return nullable ? [t, 'null'] : t;
}

/**
 * Records used in more than one place (auth, bedrock and huggingface options, ACL rules) are emitted once
 * under `definitions` and referenced, so ajv compiles them once.
 */
interface Shared {
  names: Map<RecordField, string>;
  definitions: Record<string, JsonSchema>;
}

function findShared(def: RecordField): Map<RecordField, string> {
  const seen = new Map<RecordField, { count: number; name: string }>();
  const visit = (field: Field, name: string) => {
    if (field.type === 'array') return visit(field.elements, name);
    if (field.type !== 'record') return;
    const entry = seen.get(field);
    if (entry) {
      entry.count++;
      return;
    }
    seen.set(field, { count: 1, name });
    for (const [k, f] of Object.entries(field.fields)) visit(f, k);
  };
  visit(def, 'config');
  const names = new Map<RecordField, string>();
  for (const [rec, { count, name }] of seen) if (count > 1) names.set(rec, name);
  return names;
}

let shared: Shared | undefined;

function fieldSchema(field: Field, nullable: boolean): JsonSchema {
  if (field.type === 'record' && shared?.names.has(field)) {
    const name = `${shared.names.get(field) as string}${nullable ? '' : '_item'}`;
    if (!(name in shared.definitions)) {
      shared.definitions[name] = {}; // placeholder first: records may nest shared records
      shared.definitions[name] = plainFieldSchema(field, nullable);
    }
    return { $ref: `#/definitions/${name}` };
  }
  return plainFieldSchema(field, nullable);
}

function plainFieldSchema(field: Field, nullable: boolean): JsonSchema {
  const s: JsonSchema = {};
  if (field.description) s.description = field.description;
  if ('default' in field && field.default !== undefined) s.default = field.default;
  if (field.deprecation) s.deprecated = true;
  switch (field.type) {
    case 'string': {
      const c: JsonSchema = { type: typeOf('string', nullable), minLength: field.len_min ?? 1 };
      if (field.one_of) c.enum = nullable ? [...field.one_of, null] : [...field.one_of];
      if (field.url) c.kongUrl = true;
      if (field.encrypted) s['x-encrypted'] = true;
      return field.referenceable ? referenceable(s, c) : { ...s, ...c };
    }
    case 'integer':
    case 'number': {
      const c: JsonSchema = { type: typeOf(field.type, nullable) };
      if (field.between) {
        c.minimum = field.between[0];
        c.maximum = field.between[1];
      }
      if (field.gt !== undefined) c.exclusiveMinimum = field.gt;
      return field.referenceable ? referenceable(s, c) : { ...s, ...c };
    }
    case 'boolean':
      return { ...s, type: typeOf('boolean', nullable) };
    case 'json':
      return { ...s, type: typeOf('object', nullable) };
    case 'array': {
      const a: JsonSchema = { ...s, type: typeOf('array', nullable), items: fieldSchema(field.elements, false) };
      if (field.len_min !== undefined) a.minItems = field.len_min;
      return a;
    }
    case 'record':
      return { ...s, ...recordSchema(field, nullable) };
  }
}

function referenceable(annotations: JsonSchema, constraints: JsonSchema): JsonSchema {
  return { ...annotations, 'x-referenceable': true, if: VAULT_REFERENCE_SCHEMA, then: true, else: constraints };
}

function recordSchema(def: RecordField, nullable: boolean): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [key, field] of Object.entries(def.fields)) {
    const mandatory = field.required === true && !('default' in field && field.default !== undefined);
    properties[key] = fieldSchema(field, !mandatory);
    if (mandatory) required.push(key);
  }
  for (const [key, sh] of Object.entries(def.shorthand_fields ?? {})) {
    properties[key] =
      sh.type === 'integer'
        ? { description: sh.description, deprecated: true, type: ['integer', 'null'], minimum: 0, maximum: 2147483646 }
        : {
            description: sh.description,
            deprecated: true,
            type: ['array', 'null'],
            minItems: 1,
            items: { type: 'string', minLength: 1 },
          };
  }
  const s: JsonSchema = { type: typeOf('object', nullable), properties, additionalProperties: false };
  if (required.length > 0) s.required = required;
  return s;
}

/** The JSON Schema of a plugin `config` object. */
export function toJsonSchema(def: RecordField): JsonSchema {
  shared = { names: findShared(def), definitions: {} };
  try {
    const root = recordSchema(def, false);
    return {
      $schema: 'http://json-schema.org/draft-07/schema#',
      title: 'ai-proxy-advanced config',
      ...root,
      definitions: shared.definitions,
    };
  } finally {
    shared = undefined;
  }
}
