/**
 * Kong's schema-array semantics (kong/db/schema/init.lua), implemented generically so the gateway can validate
 * any plugin's config from the `Schema` its plugin server reports, exactly as Kong's DAO does on insert:
 *   1. `fillDefaults` = process_auto_fields(data, "insert"): defaults (deep copies), unset optional fields
 *      become null, required records are expanded to obtain nested defaults.
 *   2. `validateRecord` = Schema:validate: unknown fields, type checks, the validators in Kong's order
 *      (Schema.validators_order) with Kong's messages (validation_errors), nested error tables.
 * Entity checks cannot be declared from a JS plugin (kong-plugin-protocol.md §1.4); cross-field rules come
 * through the extra-validator hook in plugin-validation.ts.
 */
import { runEntityChecks } from './entity-checks';
import { luaMatch } from './lua-pattern';

export interface FieldDef {
  readonly type: string;
  readonly required?: boolean;
  readonly default?: unknown;
  readonly fields?: FieldList;
  readonly elements?: FieldDef;
  readonly keys?: FieldDef;
  readonly values?: FieldDef;
  readonly referenceable?: boolean;
  readonly [attribute: string]: unknown;
}
export type FieldList = ReadonlyArray<Readonly<Record<string, FieldDef>>>;

/** A Kong error tree: a message, or per-field errors (arrays keep positions, holes are null). */
export type ErrorTree = string | { [field: string]: ErrorTree } | Array<ErrorTree | null>;

export const MESSAGES = Object.freeze({
  ARRAY: 'expected an array',
  SET: 'expected a set',
  MAP: 'expected a map',
  RECORD: 'expected a record',
  STRING: 'expected a string',
  NUMBER: 'expected a number',
  BOOLEAN: 'expected a boolean',
  INTEGER: 'expected an integer',
  REQUIRED: 'required field missing',
  UNKNOWN: 'unknown field',
  TIMESTAMP: 'expected a valid timestamp',
  UUID: 'expected a valid UUID',
});

type Json = unknown;
type Obj = Record<string, Json>;

export function isPlainObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

export function fieldEntries(fields: FieldList): Array<[string, FieldDef]> {
  const out: Array<[string, FieldDef]> = [];
  for (const entry of fields) {
    for (const [name, def] of Object.entries(entry)) out.push([name, def]);
  }
  return out;
}

function deepCopy<T>(v: T): T {
  return v === undefined ? v : (structuredClone(v) as T);
}

/** handle_missing_field: what Kong stores for a field absent from the input on insert. */
function missingValue(field: FieldDef): Json {
  if (field.default !== undefined) return deepCopy(field.default);
  if (field.required !== true) return null;
  if (field.type === 'record') return fillDefaults(field.fields ?? [], {});
  return undefined;
}

function adjustField(field: FieldDef, value: Json): Json {
  if (field.type === 'record') {
    if (value !== null && (value !== undefined || field.required === true)) {
      const v = value ?? missingValue(field);
      if (isPlainObject(v)) return fillDefaults(field.fields ?? [], v);
      return v;
    }
  } else if (Array.isArray(value) && (field.type === 'array' || field.type === 'set') && field.elements) {
    let arr = value.map((v) => adjustField(field.elements as FieldDef, v));
    if (field.type === 'set') arr = dedupe(arr);
    return arr;
  } else if (isPlainObject(value) && field.type === 'map' && field.values) {
    const out: Obj = {};
    for (const [k, v] of Object.entries(value)) out[k] = adjustField(field.values, v);
    return out;
  }
  if (value === undefined) return missingValue(field);
  return value;
}

function dedupe(arr: Json[]): Json[] {
  const seen = new Set<string>();
  return arr.filter((v) => {
    const k = JSON.stringify(v);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** process_auto_fields(data, "insert"): returns a new object; unknown keys are kept for validation to flag. */
export function fillDefaults(fields: FieldList, data: Obj): Obj {
  const out: Obj = { ...data };
  for (const [name, field] of fieldEntries(fields)) {
    const v = adjustField(field, data[name]);
    if (v === undefined) delete out[name];
    else out[name] = v;
  }
  return out;
}

function byteLength(v: Json, field: FieldDef): number {
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (Array.isArray(v)) return v.length;
  if (field.type === 'map' && isPlainObject(v)) return Object.keys(v).length;
  return 0;
}

function luaToString(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

type Validator = (value: Json, arg: unknown, field: FieldDef) => string | undefined;

/** Schema.validators, in Schema.validators_order. */
const VALIDATORS: ReadonlyArray<[string, Validator]> = [
  ['eq', (v, w) => (v === w ? undefined : `value must be ${luaToString(w)}`)],
  ['ne', (v, w) => (v !== w ? undefined : `value must not be ${luaToString(v)}`)],
  ['not_one_of', (v, opts) => ((opts as Json[]).includes(v) ? `must not be one of: ${(opts as Json[]).join(', ')}` : undefined)],
  ['one_of', (v, opts) => ((opts as Json[]).includes(v) ? undefined : `expected one of: ${(opts as Json[]).join(', ')}`)],
  ['gt', (v, lim) => ((v as number) > (lim as number) ? undefined : `value must be greater than ${luaToString(lim)}`)],
  ['timestamp', (v) => ((v as number) > 0 ? undefined : MESSAGES.TIMESTAMP)],
  [
    'uuid',
    (v) =>
      typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v)
        ? undefined
        : MESSAGES.UUID,
  ],
  [
    'is_regex',
    (v) => {
      try {
        new RegExp(String(v));
        return undefined;
      } catch {
        return `not a valid regex: ${String(v)}`;
      }
    },
  ],
  [
    'between',
    (v, lim) => {
      const [lo, hi] = lim as [number, number];
      return (v as number) < lo || (v as number) > hi ? `value should be between ${lo} and ${hi}` : undefined;
    },
  ],
  ['len_eq', (v, n, f) => (byteLength(v, f) === n ? undefined : `length must be ${String(n)}`)],
  ['len_min', (v, n, f) => (byteLength(v, f) >= (n as number) ? undefined : `length must be at least ${String(n)}`)],
  ['len_max', (v, n, f) => (byteLength(v, f) <= (n as number) ? undefined : `length must be at most ${String(n)}`)],
  ['starts_with', (v, s) => (String(v).startsWith(String(s)) ? undefined : `should start with: ${String(s)}`)],
  ['not_match', (v, p) => (luaMatch(String(v), String(p)) ? `invalid value: ${String(v)}` : undefined)],
  [
    'match_none',
    (v, list) => {
      for (const item of list as Array<{ pattern: string; err: string }>) if (luaMatch(String(v), item.pattern)) return item.err;
      return undefined;
    },
  ],
  ['match', (v, p) => (luaMatch(String(v), String(p)) ? undefined : `invalid value: ${String(v)}`)],
  [
    'match_all',
    (v, list) => {
      for (const item of list as Array<{ pattern: string; err: string }>) if (!luaMatch(String(v), item.pattern)) return item.err;
      return undefined;
    },
  ],
  [
    'match_any',
    (v, arg) => {
      const a = arg as { patterns: string[]; err: string };
      return a.patterns.some((p) => luaMatch(String(v), p)) ? undefined : a.err;
    },
  ],
  ['contains', (v, w) => ((v as Json[]).includes(w) ? undefined : `expected to contain: ${luaToString(w)}`)],
  // Only the gateway's own entity schemas carry functions; a plugin server's schema is plain data.
  ['custom_validator', (v, fn) => (typeof fn === 'function' ? (fn as (x: Json) => string | undefined)(v) : undefined)],
  [
    'mutually_exclusive_subsets',
    (v, subsets) => {
      const hit = (subsets as string[][]).filter((s) => (v as Json[]).some((x) => s.includes(x as string)));
      return hit.length <= 1
        ? undefined
        : `these sets are mutually exclusive: ${hit.map((s) => `(${s.map((x) => `'${x}'`).join(', ')})`).join(', ')}`;
    },
  ],
];

/** Kong's `{vault://…}` reference test (kong/pdk/vault.lua is_reference). */
export function isReference(v: unknown): v is string {
  return typeof v === 'string' && v.startsWith('{vault://') && v.endsWith('}');
}

function validateElements(elements: FieldDef, arr: Json[]): ErrorTree | undefined {
  const el: FieldDef = { ...elements, required: true };
  const errs: Array<ErrorTree | null> = [];
  let bad = false;
  arr.forEach((v, i) => {
    const e = validateField(el, v);
    if (e !== undefined) {
      bad = true;
      errs[i] = e;
    }
  });
  if (!bad) return undefined;
  return Array.from(errs, (e) => e ?? null);
}

/** Schema:validate_field. `undefined` means valid. */
export function validateField(field: FieldDef, value: Json): ErrorTree | undefined {
  if (value === null || value === undefined) {
    if (field.ne === null) return 'value must not be null';
    if (field.eq !== undefined && field.eq !== null) return `value must be ${luaToString(field.eq)}`;
    if (field.required === true) return MESSAGES.REQUIRED;
    return undefined;
  }
  if (field.eq === null) return 'value must be null';
  let effective = field;
  switch (field.type) {
    case 'array':
    case 'set': {
      if (!Array.isArray(value)) return field.type === 'array' ? MESSAGES.ARRAY : MESSAGES.SET;
      if (field.elements) {
        const e = validateElements(field.elements, value);
        if (e !== undefined) return e;
      }
      break;
    }
    case 'map': {
      if (!isPlainObject(value)) return MESSAGES.MAP;
      for (const [k, v] of Object.entries(value)) {
        if (field.keys) {
          const e = validateField({ ...field.keys, required: true }, k);
          if (e !== undefined) return e;
        }
        if (field.values) {
          const e = validateField({ ...field.values, required: true }, v);
          if (e !== undefined) return e;
        }
      }
      break;
    }
    case 'record': {
      if (!isPlainObject(value)) return MESSAGES.RECORD;
      const e = validateRecord(field.fields ?? [], fillDefaults(field.fields ?? [], value), field.entity_checks);
      if (e !== undefined) return e;
      break;
    }
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return MESSAGES.INTEGER;
      break;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return MESSAGES.NUMBER;
      break;
    case 'boolean':
      if (typeof value !== 'boolean') return MESSAGES.BOOLEAN;
      break;
    case 'string':
      if (typeof value !== 'string') return MESSAGES.STRING;
      // Empty strings are not accepted by default.
      if (field.len_min === undefined) effective = { ...field, len_min: 1 };
      if (field.referenceable === true && isReference(value)) return undefined;
      break;
    case 'json':
    case 'any':
    case 'foreign':
      break;
    default:
      return `invalid type: ${field.type}`;
  }
  for (const [name, check] of VALIDATORS) {
    const arg = effective[name];
    if (arg === undefined) continue;
    const err = check(value, arg, effective);
    if (err !== undefined) return typeof field.err === 'string' ? field.err : err;
  }
  return undefined;
}

/** Schema:validate over a record's fields; returns the error tree or undefined. */
export function validateRecord(fields: FieldList, input: Obj, entityChecks?: unknown): { [field: string]: ErrorTree } | undefined {
  const errors: { [field: string]: ErrorTree } = {};
  const known = new Map(fieldEntries(fields));
  for (const [k, v] of Object.entries(input)) {
    const field = known.get(k);
    if (!field) {
      errors[k] = MESSAGES.UNKNOWN;
      continue;
    }
    const e = validateField(field, v);
    if (e !== undefined) errors[k] = e;
  }
  for (const [name, field] of known) {
    if (field.required === true && (input[name] === null || input[name] === undefined)) errors[name] = MESSAGES.REQUIRED;
  }
  runEntityChecks(entityChecks, fields, input, errors);
  return Object.keys(errors).length > 0 ? errors : undefined;
}

/** Insert-time processing: defaults, then validation. */
export function checkRecord(fields: FieldList, input: Obj, entityChecks?: unknown): { value: Obj; errors?: { [field: string]: ErrorTree } } {
  const value = fillDefaults(fields, input);
  const errors = validateRecord(fields, value, entityChecks);
  return errors ? { value, errors } : { value };
}
