/**
 * Kong's DAO error objects as the Admin API returns them (kong/db/errors.lua): `{code, name, message, fields}`
 * with Kong's codes and message formats.
 */
import type { ErrorTree } from './kong-schema';

export const ERROR_CODES = Object.freeze({
  SCHEMA_VIOLATION: 2,
  PRIMARY_KEY_VIOLATION: 3,
  FOREIGN_KEY_VIOLATION: 4,
  UNIQUE_VIOLATION: 5,
  NOT_FOUND: 6,
  INVALID_SIZE: 9,
  OPERATION_UNSUPPORTED: 12,
  INVALID_DECLARATIVE_CONFIGURATION: 14,
});

export interface KongErrorBody {
  code: number;
  name: string;
  message: string;
  fields?: Record<string, unknown>;
  [extra: string]: unknown;
}

/** A DAO error that the Admin API turns into `status` + `body`. */
export class KongDaoError extends Error {
  constructor(
    readonly status: number,
    readonly body: KongErrorBody,
  ) {
    super(body.message);
    this.name = 'KongDaoError';
  }
}

/** A compact Lua-table rendering, in the spirit of pl.pretty.write used by errors.lua. */
export function luaPretty(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `{${v.map((x) => luaPretty(x)).join(',')}}`;
  if (typeof v === 'object') {
    const parts = Object.keys(v)
      .sort()
      .map((k) => `${/^[A-Za-z_]\w*$/.test(k) ? k : `["${k}"]`}=${luaPretty((v as Record<string, unknown>)[k])}`);
    return `{${parts.join(',')}}`;
  }
  return String(v);
}

function subKeys(v: ErrorTree): string[] {
  if (Array.isArray(v)) {
    const out: string[] = [];
    v.forEach((x, i) => {
      if (x !== null) out.push(String(i + 1)); // Lua positions
    });
    return out;
  }
  return Object.keys(v as object).sort();
}

function subValue(v: ErrorTree, key: string): unknown {
  if (Array.isArray(v)) return v[Number(key) - 1];
  return (v as Record<string, unknown>)[key];
}

/** errors.lua schema_violation: the message lists `field: msg` / `field.sub: msg`, entity errors first. */
export function schemaViolationMessage(errors: Record<string, ErrorTree>): string {
  const buf: string[] = [];
  const entity = errors['@entity'];
  if (Array.isArray(entity)) for (const e of entity) if (typeof e === 'string') buf.push(e);
  for (const field of Object.keys(errors).sort()) {
    if (field === '@entity') continue;
    const v = errors[field] as ErrorTree;
    if (typeof v === 'string') buf.push(`${field}: ${v}`);
    else
      for (const sub of subKeys(v)) {
        const value = subValue(v, sub);
        buf.push(`${field}.${sub}: ${typeof value === 'string' ? value : luaPretty(value)}`);
      }
  }
  return buf.length === 1 ? `schema violation (${buf[0] ?? ''})` : `${buf.length} schema violations (${buf.join('; ')})`;
}

export function schemaViolation(errors: Record<string, ErrorTree>): KongDaoError {
  return new KongDaoError(400, {
    code: ERROR_CODES.SCHEMA_VIOLATION,
    name: 'schema violation',
    message: schemaViolationMessage(errors),
    fields: errors,
  });
}

export function uniqueViolation(fields: Record<string, unknown>): KongDaoError {
  return new KongDaoError(409, {
    code: ERROR_CODES.UNIQUE_VIOLATION,
    name: 'unique constraint violation',
    message: `UNIQUE violation detected on '${luaPretty(fields)}'`,
    fields,
  });
}

export function foreignKeyViolation(foreign: Record<string, unknown>, field: string, parent: string): KongDaoError {
  return new KongDaoError(400, {
    code: ERROR_CODES.FOREIGN_KEY_VIOLATION,
    name: 'foreign key violation',
    message: `the foreign key '${luaPretty(foreign)}' does not reference an existing '${parent}' entity.`,
    fields: { [field]: foreign },
  });
}

/** errors.lua invalid_size (code 9, a 400 in kong/api/endpoints.lua): a list's `size` that is no page size. */
export function invalidSize(message: string): KongDaoError {
  return new KongDaoError(400, { code: ERROR_CODES.INVALID_SIZE, name: 'invalid size', message });
}

/**
 * errors.lua operation_unsupported (code 12, a 405): what DB-less Kong answers to an entity write, with the
 * messages of kong/db/strategies/off/init.lua (`by '<field>'` when the entity is named by its endpoint key).
 */
export function operationUnsupported(operation: 'create' | 'update' | 'create or update' | 'remove', entity: string, byField?: string): KongDaoError {
  const by = byField === undefined ? '' : ` by '${byField}'`;
  return new KongDaoError(405, {
    code: ERROR_CODES.OPERATION_UNSUPPORTED,
    name: 'operation unsupported',
    message: `cannot ${operation} '${entity}' entities${by} when not using a database`,
  });
}
