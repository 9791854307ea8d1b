/**
 * Kong's declarative entity checks (kong/db/schema/init.lua Schema.entity_checkers and run_entity_check), for
 * the `entity_checks` a plugin's schema array may carry on a record: at_least_one_of, only_one_of, distinct,
 * mutually_required, mutually_exclusive, conditional and conditional_at_least_one_of, with Kong's messages in
 * `@entity` and Kong's skip rules (a referenced value, invalid fields, missing required fields).
 */
import { fieldEntries, type ErrorTree, type FieldDef, type FieldList, isPlainObject, isReference, validateField } from './kong-schema';

type Obj = Record<string, unknown>;
type Errors = Record<string, ErrorTree>;

interface Checker {
  runWithMissing: boolean;
  runWithInvalid: boolean;
  /** Which argument keys hold field names, and which of them are required (no field_sources: the arg is the list). */
  sources?: string[];
  required?: string[];
  fn(entity: Obj, arg: Obj & string[], fields: FieldList, errors: Errors): true | [string, string?];
}

function getField(tbl: unknown, name: string): unknown {
  if (tbl === undefined || tbl === null || typeof tbl !== 'object') return undefined;
  const dot = name.indexOf('.');
  if (dot < 0) return (tbl as Obj)[name];
  return getField((tbl as Obj)[name.slice(0, dot)], name.slice(dot + 1));
}

function setField(tbl: Errors, name: string, value: ErrorTree): void {
  const dot = name.indexOf('.');
  if (dot < 0) {
    tbl[name] = value;
    return;
  }
  const head = name.slice(0, dot);
  if (!isPlainObject(tbl[head])) tbl[head] = {};
  setField(tbl[head] as Errors, name.slice(dot + 1), value);
}

function schemaField(fields: FieldList, name: string): FieldDef | undefined {
  const dot = name.indexOf('.');
  const head = dot < 0 ? name : name.slice(0, dot);
  const f = new Map(fieldEntries(fields)).get(head);
  if (dot < 0 || !f) return f;
  return schemaField(f.fields ?? [], name.slice(dot + 1));
}

function nonEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return false;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

const quoted = (names: readonly string[]): string => names.map((n) => `'${n}'`).join(', ');

function matches(fields: FieldList, name: string, match: Obj, value: unknown): { ok: boolean; err?: ErrorTree } {
  const base = schemaField(fields, name) ?? { type: 'any' };
  const err = validateField({ ...base, required: undefined, ...match } as FieldDef, value);
  return err === undefined ? { ok: true } : { ok: false, err };
}

const CHECKERS: Record<string, Checker> = {
  at_least_one_of: {
    runWithMissing: true,
    runWithInvalid: true,
    fn: (e, names) => (names.some((n) => nonEmpty(getField(e, n))) ? true : [`at least one of these fields must be non-empty: ${quoted(names)}`]),
  },
  only_one_of: {
    runWithMissing: false,
    runWithInvalid: true,
    fn: (e, names) => (names.filter((n) => nonEmpty(getField(e, n))).length === 1 ? true : [`exactly one of these fields must be non-empty: ${quoted(names)}`]),
  },
  distinct: {
    runWithMissing: false,
    runWithInvalid: true,
    fn: (e, names) => {
      const seen = new Set<string>();
      for (const n of names) {
        const v = getField(e, n);
        if (!nonEmpty(v)) continue;
        const k = JSON.stringify(v);
        if (seen.has(k)) return [`values of these fields must be distinct: ${quoted(names)}`];
        seen.add(k);
      }
      return true;
    },
  },
  mutually_required: {
    runWithMissing: true,
    runWithInvalid: false,
    fn: (e, names) => {
      const n = names.filter((x) => nonEmpty(getField(e, x))).length;
      return n === 0 || n === names.length ? true : [`all or none of these fields must be set: ${quoted(names)}`];
    },
  },
  mutually_exclusive: {
    runWithMissing: true,
    runWithInvalid: false,
    fn: (e, names) => (names.filter((x) => nonEmpty(getField(e, x))).length <= 1 ? true : [`only one or none of these fields must be set: ${quoted(names)}`]),
  },
  conditional: {
    runWithMissing: false,
    runWithInvalid: true,
    sources: ['if_field', 'then_field'],
    required: ['if_field'],
    fn: (e, arg, fields, errors) => {
      const ifField = String(arg.if_field);
      const thenField = String(arg.then_field);
      const thenValue = getField(e, thenField) ?? null;
      if (!matches(fields, ifField, arg.if_match as Obj, getField(e, ifField)).ok) return true;
      const thenMatch = arg.then_match as Obj;
      const fail = (): [string, string?] => [
        `failed conditional validation given value of field '${ifField}'`,
        typeof arg.then_err === 'string' ? arg.then_err.replace('%s', ifField) : undefined,
      ];
      if (thenMatch.required === true && thenValue === null) {
        setField(errors, thenField, 'required field missing');
        return fail();
      }
      const r = matches(fields, thenField, thenMatch, thenValue);
      if (r.ok) return true;
      setField(errors, thenField, r.err as ErrorTree);
      return fail();
    },
  },
  conditional_at_least_one_of: {
    runWithMissing: true,
    runWithInvalid: true,
    sources: ['if_field', 'then_at_least_one_of', 'else_then_at_least_one_of'],
    required: ['if_field'],
    fn: (e, arg, fields) => {
      const ifField = String(arg.if_field);
      const ifValue = getField(e, ifField);
      if (ifValue === undefined) return true;
      let names = arg.then_at_least_one_of as string[];
      let custom = arg.then_err;
      if (!matches(fields, ifField, arg.if_match as Obj, ifValue).ok) {
        if (arg.else_match === undefined) return true;
        if (!matches(fields, ifField, arg.else_match as Obj, ifValue).ok) return true;
        names = arg.else_then_at_least_one_of as string[];
        custom = arg.else_then_err;
      }
      if (names.some((n) => nonEmpty(getField(e, n)))) return true;
      const list = quoted(names);
      return [`at least one of these fields must be non-empty: ${list}`, typeof custom === 'string' ? custom.replace('%s', list) : undefined];
    },
  },
};

/** run_entity_check for every check; adds to `errors` in place. */
export function runEntityChecks(checks: unknown, fields: FieldList, input: Obj, errors: Errors): void {
  if (!Array.isArray(checks)) return;
  for (const check of checks) {
    if (!isPlainObject(check)) continue;
    const [name, rawArg] = Object.entries(check)[0] ?? [];
    const checker = name === undefined ? undefined : CHECKERS[name];
    if (!checker) continue;
    const arg = rawArg as Obj & string[];
    const names: string[] = [];
    const required = new Set<string>();
    if (checker.sources) {
      for (const s of checker.sources) {
        const v = arg[s];
        const list = typeof v === 'string' ? [v] : Array.isArray(v) ? (v as string[]) : [];
        names.push(...list);
        if (checker.required?.includes(s)) for (const n of list) required.add(n);
      }
    } else {
      names.push(...(arg as string[]));
      for (const n of arg as string[]) required.add(n);
    }
    let allNil = true;
    let allOk = true;
    const missing: string[] = [];
    let skip = false;
    for (const n of names) {
      const v = getField(input, n);
      if (v === undefined) {
        if (!checker.runWithMissing && required.has(n)) missing.push(n);
      } else {
        allNil = false;
        const f = schemaField(fields, n);
        if (f?.type === 'string' && f.referenceable === true && isReference(v)) skip = true;
      }
      if (getField(errors, n) !== undefined) allOk = false;
    }
    if (skip || (!allOk && !checker.runWithInvalid) || (allNil && !checker.runWithMissing)) continue;
    if (missing.length > 0) {
      for (const m of missing) setField(errors, m, 'field required for entity check');
      continue;
    }
    const r = checker.fn(input, arg, fields, errors);
    if (r === true) continue;
    const list = (errors['@entity'] as ErrorTree[] | undefined) ?? [];
    list.push(r[1] ?? r[0]);
    errors['@entity'] = list;
  }
}
