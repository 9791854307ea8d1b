/**
 * validateConfig: the one entry point the plugin, the local gateway's Admin API and the CLI share.
 *
 *   raw config ──shorthands + defaults (defaults.ts)──▶ filled ──ajv (compiled once)──▶ field errors
 *                                                        └──entity checks (entity-checks.ts)──▶ cross-field errors
 *
 * Errors name the field as `targets[0].model.options.anthropic_version` and use Kong's messages
 * (kong/db/schema/init.lua validation_errors). Kong's bookkeeping keys (`__plugin_id`, `route_id`, ...) are
 * set aside before validation and returned untouched, so the config Kong sends in StartInstance validates.
 */
import { checkEngineConfig } from '../plugins/ai-proxy-advanced/engine/config-check';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { FilledConfig } from './config';
import { KONG_INSTANCE_KEYS } from './config';
import { PLUGIN_CONFIG } from './definition';
import { fillRecord, isPlainObject } from './defaults';
import { runEntityChecks, type PathError } from './entity-checks';
import { toJsonSchema } from './json-schema';
import { urlProblem } from './url';

export interface ConfigError {
  /** `targets[0].model.options.anthropic_version`; '' for the config itself. */
  path: string;
  message: string;
}

export type ValidationResult = { ok: true; config: FilledConfig } | { ok: false; errors: ConfigError[] };

export const CONFIG_JSON_SCHEMA = toJsonSchema(PLUGIN_CONFIG);

function newAjv(opts: { allErrors: boolean }): Ajv {
  const ajv = new Ajv({ ...opts, verbose: opts.allErrors, allowUnionTypes: true, strict: true });
  ajv.addKeyword({ keyword: 'x-referenceable', schemaType: 'boolean' });
  ajv.addKeyword({ keyword: 'x-encrypted', schemaType: 'boolean' });
  ajv.addKeyword({
    keyword: 'kongUrl',
    type: 'string',
    schemaType: 'boolean',
    validate: (_: boolean, data: string) => urlProblem(data) === undefined,
  });
  return ajv;
}

let fast: ValidateFunction | undefined;
let detailed: ValidateFunction | undefined;

/**
 * The ajv validator of CONFIG_JSON_SCHEMA, compiled on first use and kept for the life of the process (call it
 * at startup to pay the compile early). It stops at the first problem: valid configs (the common case) pay for
 * nothing more; a second validator collecting every error is compiled only the first time a config is
 * refused. On its own it checks field types and ranges of a config object (raw or filled), without Kong's
 * bookkeeping keys, defaults or cross-field rules: validateConfig does all of that.
 */
export function configValidator(): ValidateFunction {
  return (fast ??= newAjv({ allErrors: false }).compile(CONFIG_JSON_SCHEMA));
}

function detailedValidator(): ValidateFunction {
  return (detailed ??= newAjv({ allErrors: true }).compile(CONFIG_JSON_SCHEMA));
}

export function formatPath(segments: ReadonlyArray<string | number>): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** Validates a plugin config and returns it with defaults filled, or every problem found. */
export function validateConfig(raw: unknown): ValidationResult {
  const r = validateDetailed(raw);
  return r.ok ? r : { ok: false, errors: r.errors.map((e) => ({ path: formatPath(e.segments), message: e.message })) };
}

export type DetailedResult = { ok: true; config: FilledConfig } | { ok: false; errors: PathError[] };

/** validateConfig with error paths as segments (the CLI needs them to look values up). */
export function validateDetailed(raw: unknown): DetailedResult {
  if (!isPlainObject(raw)) return { ok: false, errors: [{ segments: [], message: 'expected a record' }] };
  const kongKeys: Record<string, unknown> = {};
  let input = raw;
  for (const k of KONG_INSTANCE_KEYS) {
    if (k in raw) {
      if (input === raw) input = { ...raw };
      kongKeys[k] = raw[k];
      delete input[k];
    }
  }
  const filled = fillRecord(PLUGIN_CONFIG, input);
  let errors: PathError[] = [];
  if (!configValidator()(filled)) {
    const all = detailedValidator();
    all(filled);
    errors = fromAjv(all.errors ?? [], filled);
  }
  errors.push(...runEntityChecks(PLUGIN_CONFIG, filled));
  if (errors.length === 0) errors.push(...servabilityErrors(filled as unknown as FilledConfig));
  if (errors.length > 0) return { ok: false, errors };
  // fillRecord filled every default and autofill record, and validation refused nulls in required fields:
  // that is exactly FilledConfig.
  return { ok: true, config: { ...filled, ...kongKeys } as unknown as FilledConfig };
}

function pointerSegments(pointer: string): Array<string | number> {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

const TYPE_MESSAGES: Record<string, string> = {
  string: 'expected a string',
  integer: 'expected an integer',
  number: 'expected a number',
  boolean: 'expected a boolean',
  array: 'expected an array',
  object: 'expected a record',
};

/** The value at an error path in the raw config, or undefined where the path does not lead. */
export function valueAt(root: unknown, segments: ReadonlyArray<string | number>): unknown {
  let cur = root;
  for (const s of segments) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[s];
  }
  return cur;
}

/** Turns ajv errors into one Kong-worded error per field (a type error hides the field's other errors). */
function fromAjv(errors: ErrorObject[], data: unknown): PathError[] {
  const byPath = new Map<string, PathError & { isType: boolean }>();
  for (const e of errors) {
    let segments = pointerSegments(e.instancePath);
    let message: string | undefined;
    let isType = false;
    const parent = (e.parentSchema ?? {}) as Record<string, unknown>;
    switch (e.keyword) {
      case 'required':
        segments = [...segments, (e.params as { missingProperty: string }).missingProperty];
        message = 'required field missing';
        break;
      case 'additionalProperties':
        segments = [...segments, (e.params as { additionalProperty: string }).additionalProperty];
        message = 'unknown field';
        break;
      case 'type': {
        isType = true;
        const wanted = String((e.params as { type: string | string[] }).type).split(',')[0] ?? '';
        message = e.data === null ? 'required field missing' : (TYPE_MESSAGES[wanted] ?? `expected ${wanted}`);
        break;
      }
      case 'enum': {
        const allowed = (e.schema as unknown[]).filter((v) => v !== null);
        message = `expected one of: ${allowed.join(', ')}`;
        break;
      }
      case 'minimum':
      case 'maximum':
        message = `value should be between ${String(parent.minimum)} and ${String(parent.maximum)}`;
        break;
      case 'exclusiveMinimum':
        message = `value must be greater than ${String(parent.exclusiveMinimum)}`;
        break;
      case 'minLength':
      case 'minItems':
        message = `length must be at least ${String(e.schema)}`;
        break;
      case 'kongUrl':
        message = urlProblem(String(valueAt(data, segments)));
        break;
      case 'if':
        break; // the branch error that follows says what is wrong
      default:
        message = e.message ?? 'invalid value';
    }
    if (message === undefined) continue;
    const key = JSON.stringify(segments);
    const prev = byPath.get(key);
    if (prev && (prev.isType || !isType)) continue;
    byPath.set(key, { segments, message, isType });
  }
  return [...byPath.values()].map(({ segments, message }) => ({ segments, message }));
}

/**
 * What the schema accepts but the plugin cannot serve (plugins/ai-proxy-advanced/engine/config-check.ts: templates
 * in a URL's scheme/user info/port, ...). Run here so that the Admin API, the declarative loader and `npm run
 * validate` refuse such a config with the field named, as the plugin would at instance start, instead of
 * accepting it and failing every request. The check names each field as a path, used as is.
 */
function servabilityErrors(config: FilledConfig): PathError[] {
  return checkEngineConfig(config).map((p) => ({ segments: [...p.field], message: p.message }));
}
