/**
 * Cross-field rules (Kong entity_checks) run over a filled config, following the definition tree. Semantics
 * follow kong/db/schema/init.lua Schema.entity_checkers; each error is reported at the field to fix, with
 * Kong's text (Kong reports them under the record's "@entity" key instead).
 */
import type { CustomCheckName, EntityCheck, Field, MatchSpec, RecordField } from './dsl';
import { isPlainObject } from './defaults';
import { VAULT_REFERENCE } from './json-schema';
import { routeTypeProblem } from './definition/route-support';
import { aclConditionProblems } from './acl-conditions';

export interface PathError {
  segments: Array<string | number>;
  message: string;
}

type Obj = Record<string, unknown>;

const splitCache = new Map<string, string[]>();
function split(dotted: string): string[] {
  let parts = splitCache.get(dotted);
  if (!parts) splitCache.set(dotted, (parts = dotted.split('.')));
  return parts;
}

function getField(record: Obj, dotted: string): unknown {
  let cur: unknown = record;
  for (const part of split(dotted)) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur === null ? undefined : cur;
}

/** Kong is_nonempty: not null, not "", not an empty table. */
function isNonEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isPlainObject(v)) return Object.keys(v).length > 0;
  return true;
}

function matches(spec: MatchSpec, v: unknown): boolean {
  if (spec.one_of && !(typeof v === 'string' && spec.one_of.includes(v))) return false;
  if (spec.eq !== undefined && v !== spec.eq) return false;
  if (spec.ne !== undefined && v === spec.ne) return false;
  return true;
}

const quoted = (names: readonly string[]) => names.map((n) => `'${n}'`).join(', ');
const isReference = (v: unknown) => typeof v === 'string' && VAULT_REFERENCE.test(v);

function runCheck(check: EntityCheck, record: Obj, at: Array<string | number>, out: PathError[]): void {
  const push = (dotted: string, message: string) => out.push({ segments: [...at, ...dotted.split('.')], message });
  if ('mutually_required' in check) {
    const names = check.mutually_required;
    const values = names.map((n) => getField(record, n));
    // Kong does not run a check when one of its fields holds a vault reference.
    if (values.some(isReference)) return;
    const set = values.filter(isNonEmpty).length;
    if (set === 0 || set === names.length) return;
    const message = `all or none of these fields must be set: ${quoted(names)}`;
    names.forEach((n, i) => !isNonEmpty(values[i]) && push(n, message));
  } else if ('conditional' in check) {
    const c = check.conditional;
    const ifValue = getField(record, c.if_field);
    if (ifValue === undefined || !matches(c.if_match, ifValue)) return;
    const thenValue = getField(record, c.then_field);
    if (isReference(thenValue)) return;
    if (!matches(c.then_match, thenValue === undefined ? null : thenValue)) push(c.then_field, c.then_err);
  } else if ('conditional_at_least_one_of' in check) {
    const c = check.conditional_at_least_one_of;
    const ifValue = getField(record, c.if_field);
    if (ifValue === undefined || !matches(c.if_match, ifValue)) return;
    if (c.then_at_least_one_of.some((n) => isNonEmpty(getField(record, n)))) return;
    const first = c.then_at_least_one_of[0] as string;
    push(first, c.then_err.replace('%s', quoted(c.then_at_least_one_of)));
  } else {
    CUSTOM_CHECKS[check.custom](record, push);
  }
}

type Push = (dotted: string, message: string) => void;

const CUSTOM_CHECKS: Record<CustomCheckName, (record: Obj, push: Push) => void> = {
  // Kong OSS kong/llm/schemas/init.lua UNSUPPORTED_LOG_STATISTICS (custom_entity_check).
  statistics_unsupported(target, push) {
    const provider = getField(target, 'model.provider');
    const routeType = getField(target, 'route_type');
    if (getField(target, 'logging.log_statistics') === true && routeType === 'llm/v1/completions' && provider === 'anthropic') {
      push('logging.log_statistics', `${provider} does not support statistics when route_type is ${routeType}`);
    }
  },
  // ai-proxy-advanced schema: the semantic algorithm matches prompts against target descriptions.
  semantic_needs_descriptions(config, push) {
    if (getField(config, 'balancer.algorithm') !== 'semantic' || !Array.isArray(config.targets)) return;
    config.targets.forEach((t, i) => {
      if (isPlainObject(t) && !isNonEmpty(t.description)) {
        push(`targets.${i}.description`, 'description field is required for every target in config.targets array');
      }
    });
  },
  // Kong OSS kong/plugins/ai-proxy/schema.lua entity_checks, with its texts, extended to every native format and
  // to each target: a native request is passed to the provider as sent, so only that provider can serve it, on
  // the chat route type. `anthropic` is left to the plugin (Kong's docs pair it with any provider, for Claude Code).
  native_format_targets(config, push) {
    const format = getField(config, 'llm_format');
    if (typeof format !== 'string' || format === 'openai' || isReference(format) || !Array.isArray(config.targets)) return;
    config.targets.forEach((t, i) => {
      if (!isPlainObject(t)) return;
      const routeType = getField(t, 'route_type');
      if (routeType !== undefined && routeType !== 'llm/v1/chat' && !isReference(routeType)) {
        push(`targets.${i}.route_type`, "native provider options in llm_format can only be used with the 'llm/v1/chat' route_type");
      }
      const provider = getField(t, 'model.provider');
      if (format !== 'anthropic' && provider !== undefined && provider !== format && !isReference(provider)) {
        push(`targets.${i}.model.provider`, `native llm_format '${format}' can only be used with the '${format}' model.provider`);
      }
    });
  },

  // ai-proxy-advanced: route types this version cannot serve for a provider (definition/route-support.ts).
  route_type_served(config, push) {
    if (!Array.isArray(config.targets)) return;
    const format = getField(config, 'llm_format');
    config.targets.forEach((t, i) => {
      if (!isPlainObject(t)) return;
      const provider = getField(t, 'model.provider');
      const routeType = getField(t, 'route_type');
      if (typeof provider !== 'string' || typeof routeType !== 'string') return;
      const options = getField(t, 'model.options');
      const problem = routeTypeProblem(provider, routeType, typeof format === 'string' ? format : undefined, isPlainObject(options) ? options : undefined);
      if (problem !== undefined) push(`targets.${i}.route_type`, problem);
    });
  },

  // acls (3.14): keys and values the engine could not evaluate (a bad CIDR, a header without its name), named at
  // the field instead of never matching at request time (acl-conditions.ts).
  acl_condition(condition, push) {
    for (const p of aclConditionProblems(condition)) push(p.field, p.message);
  },
};

/** Runs every entity check of `def` and of the records nested in it; returns the errors found. */
export function runEntityChecks(def: RecordField, value: Obj, at: Array<string | number> = []): PathError[] {
  const out: PathError[] = [];
  walk(def, value, at, out);
  // `targets.0.description` was split on dots: turn numeric parts back into indexes.
  for (const e of out) e.segments = e.segments.map((s) => (typeof s === 'string' && /^\d+$/.test(s) ? Number(s) : s));
  return out;
}

/** Fields of a record worth descending into: those with entity checks somewhere below (computed once). */
const checkedChildren = new WeakMap<RecordField, Array<[string, Field]>>();

function hasChecks(field: Field): boolean {
  if (field.type === 'array') return hasChecks(field.elements);
  if (field.type !== 'record') return false;
  return (field.entity_checks?.length ?? 0) > 0 || childrenWithChecks(field).length > 0;
}

function childrenWithChecks(def: RecordField): Array<[string, Field]> {
  let kids = checkedChildren.get(def);
  if (!kids) {
    kids = Object.entries(def.fields).filter(([, f]) => hasChecks(f));
    checkedChildren.set(def, kids);
  }
  return kids;
}

function walk(def: RecordField, value: Obj, at: Array<string | number>, out: PathError[]): void {
  for (const check of def.entity_checks ?? []) runCheck(check, value, at, out);
  for (const [key, field] of childrenWithChecks(def)) walkField(field, value[key], [...at, key], out);
}

function walkField(field: Field, v: unknown, at: Array<string | number>, out: PathError[]): void {
  if (field.type === 'record' && isPlainObject(v)) walk(field, v, at, out);
  else if (field.type === 'array' && field.elements.type === 'record' && Array.isArray(v)) {
    const el = field.elements;
    v.forEach((item, i) => isPlainObject(item) && walk(el, item, [...at, i], out));
  }
}
