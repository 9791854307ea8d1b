/**
 * A checker for Kong schema field arrays, written from the rules of Kong's MetaSchema
 * (kong/db/schema/metaschema.lua: field_schema attributes, validators, required_attributes, attribute_types,
 * description length, entity checker names) so the array a JS plugin hands Kong can be checked without Kong.
 * Returns a list of problems, each naming the field path.
 */
const VALID_TYPES = new Set(['array', 'set', 'string', 'number', 'boolean', 'integer', 'foreign', 'map', 'record', 'json']);

const VALIDATOR_ATTRIBUTES = [
  'between', 'eq', 'ne', 'gt', 'len_eq', 'len_min', 'len_max', 'match', 'not_match', 'match_all', 'match_none',
  'match_any', 'starts_with', 'one_of', 'not_one_of', 'contains', 'is_regex', 'timestamp', 'uuid',
  'mutually_exclusive_subsets',
];
const OTHER_ATTRIBUTES = [
  'type', 'required', 'reference', 'description', 'examples', 'auto', 'unique', 'unique_across_ws', 'on_delete',
  'default', 'abstract', 'generate_admin_api', 'immutable', 'err', 'encrypted', 'referenceable', 'json_schema',
  'transient', 'deprecation', 'elements', 'keys', 'values', 'fields', 'entity_checks', 'shorthand_fields',
];
const ALLOWED = new Set([...VALIDATOR_ATTRIBUTES, ...OTHER_ATTRIBUTES]);

const REQUIRED_ATTRIBUTES: Record<string, string[]> = {
  array: ['elements'],
  set: ['elements'],
  map: ['keys', 'values'],
  record: ['fields'],
  json: ['json_schema'],
};

const ATTRIBUTE_TYPES: Record<string, string[]> = {
  between: ['integer', 'number'],
  len_eq: ['array', 'set', 'string', 'map'],
  match: ['string'],
  one_of: ['string', 'number', 'integer'],
  contains: ['array', 'set'],
  is_regex: ['string'],
  timestamp: ['number', 'integer'],
  uuid: ['string'],
  json_schema: ['json'],
};

const ENTITY_CHECKERS = new Set([
  'at_least_one_of', 'conditional_at_least_one_of', 'only_one_of', 'distinct', 'conditional', 'custom_entity_check',
  'mutually_required', 'mutually_exclusive', 'mutually_exclusive_sets',
]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function checkKongFields(fields: unknown, path = 'config'): string[] {
  const problems: string[] = [];
  if (!Array.isArray(fields)) return [`${path}: fields must be an array`];
  for (const item of fields) {
    if (!isObj(item) || Object.keys(item).length !== 1) {
      problems.push(`${path}: each entry in fields must be a table with one key`);
      continue;
    }
    const [name, field] = Object.entries(item)[0] as [string, unknown];
    problems.push(...checkField(field, `${path}.${name}`));
  }
  return problems;
}

function fieldNames(fields: unknown): Map<string, Obj> {
  const m = new Map<string, Obj>();
  if (Array.isArray(fields)) for (const it of fields) if (isObj(it)) for (const [k, v] of Object.entries(it)) if (isObj(v)) m.set(k, v);
  return m;
}

function hasPath(record: Obj, dotted: string): boolean {
  let cur: Obj | undefined = record;
  for (const part of dotted.split('.')) {
    cur = cur ? fieldNames(cur.fields).get(part) : undefined;
    if (!cur) return false;
  }
  return true;
}

function checkField(field: unknown, path: string): string[] {
  if (!isObj(field)) return [`${path}: must be a table`];
  const problems: string[] = [];
  const type = field.type;
  if (typeof type !== 'string' || !VALID_TYPES.has(type)) return [`${path}: missing or invalid type`];
  for (const [attr, v] of Object.entries(field)) {
    if (!ALLOWED.has(attr)) problems.push(`${path}: unknown attribute '${attr}'`);
    const only = ATTRIBUTE_TYPES[attr];
    if (only && !only.includes(type)) problems.push(`${path}: field of type '${type}' cannot have attribute '${attr}'`);
    if (typeof v === 'function') problems.push(`${path}: attribute '${attr}' is a function`);
  }
  for (const req of REQUIRED_ATTRIBUTES[type] ?? []) {
    if (field[req] === undefined) problems.push(`${path}: field of type '${type}' must declare '${req}'`);
  }
  for (const b of ['required', 'referenceable', 'encrypted']) {
    if (field[b] !== undefined && typeof field[b] !== 'boolean') problems.push(`${path}: '${b}' must be a boolean`);
  }
  if (field.description !== undefined) {
    const d = field.description;
    if (typeof d !== 'string' || d.length < 10 || d.length > 500) problems.push(`${path}: description must be 10..500 characters`);
  }
  if (field.between !== undefined) {
    const b = field.between;
    if (!Array.isArray(b) || b.length !== 2 || !b.every((x) => typeof x === 'number')) problems.push(`${path}: between must be two numbers`);
  }
  if (field.one_of !== undefined && !Array.isArray(field.one_of)) problems.push(`${path}: one_of must be an array`);
  if (field.match_any !== undefined) {
    const m = field.match_any;
    if (!isObj(m) || !Array.isArray(m.patterns) || !m.patterns.every((p) => typeof p === 'string')) {
      problems.push(`${path}: match_any needs patterns (strings)`);
    }
  }
  if (field.deprecation !== undefined) {
    const d = field.deprecation;
    if (!isObj(d) || typeof d.message !== 'string' || typeof d.removal_in_version !== 'string') {
      problems.push(`${path}: deprecation needs message and removal_in_version`);
    }
  }
  if (field.elements !== undefined) problems.push(...checkField(field.elements, `${path}[]`));
  if (type === 'record') {
    problems.push(...checkKongFields(field.fields, path));
    problems.push(...checkEntityChecks(field, path));
  }
  if (field.default !== undefined) problems.push(...checkValue(field, field.default, `${path} (default)`));
  return problems;
}

function checkEntityChecks(record: Obj, path: string): string[] {
  const checks = record.entity_checks;
  if (checks === undefined) return [];
  if (!Array.isArray(checks)) return [`${path}: entity_checks must be an array`];
  const problems: string[] = [];
  for (const c of checks) {
    if (!isObj(c) || Object.keys(c).length !== 1) {
      problems.push(`${path}: an entity check is a table with one key`);
      continue;
    }
    const [name, arg] = Object.entries(c)[0] as [string, unknown];
    if (!ENTITY_CHECKERS.has(name)) problems.push(`${path}: unknown entity checker '${name}'`);
    if (name === 'custom_entity_check') problems.push(`${path}: custom_entity_check needs a Lua function`);
    const names: string[] = [];
    if (Array.isArray(arg)) names.push(...(arg as string[]));
    else if (isObj(arg)) {
      for (const k of ['if_field', 'then_field']) if (typeof arg[k] === 'string') names.push(arg[k]);
      for (const k of ['then_at_least_one_of', 'else_then_at_least_one_of']) if (Array.isArray(arg[k])) names.push(...(arg[k] as string[]));
    }
    for (const n of names) if (!hasPath(record, n)) problems.push(`${path}: entity check names unknown field '${n}'`);
  }
  return problems;
}

/** Checks a value (a default) against a field, as Kong's `default = { type = "self" }` does. */
function checkValue(field: Obj, v: unknown, path: string): string[] {
  const t = field.type;
  const bad = (what: string) => [`${path}: ${what}`];
  switch (t) {
    case 'string':
      if (typeof v !== 'string') return bad('expected a string');
      if (Array.isArray(field.one_of) && !field.one_of.includes(v)) return bad('not one of one_of');
      return [];
    case 'integer':
    case 'number':
      if (typeof v !== 'number' || (t === 'integer' && !Number.isInteger(v))) return bad(`expected ${t}`);
      if (Array.isArray(field.between) && (v < (field.between[0] as number) || v > (field.between[1] as number))) return bad('out of between');
      return [];
    case 'boolean':
      return typeof v === 'boolean' ? [] : bad('expected a boolean');
    case 'array':
      return Array.isArray(v) ? v.flatMap((x, i) => checkValue(field.elements as Obj, x, `${path}[${i}]`)) : bad('expected an array');
    case 'record': {
      if (!isObj(v)) return bad('expected a record');
      const fields = fieldNames(field.fields);
      return Object.entries(v).flatMap(([k, x]) => {
        const f = fields.get(k);
        return f ? checkValue(f, x, `${path}.${k}`) : [`${path}.${k}: unknown field`];
      });
    }
    default:
      return [];
  }
}
