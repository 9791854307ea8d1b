/**
 * Default filling, the way Kong's process_auto_fields does it on insert (kong/db/schema/init.lua
 * adjust_field_for_context / handle_missing_field), driven by the definition:
 * - a missing field with a default gets a copy of it;
 * - a missing `autofill` record is built from its own fields' defaults (Kong: the record's `default`);
 * - records inside records and inside arrays are filled recursively;
 * - any other missing optional field becomes JSON null, as Kong sends it to the plugin.
 * One deliberate difference: an explicit null on a field that has a default also gets the default (Kong keeps
 * the null), so the plugin never has to re-apply defaults. Values of the wrong type are left untouched for the
 * JSON Schema step to report. Input is never mutated.
 */
import type { Field, RecordField, Shorthand } from './dsl';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = Record<string, unknown>;

export function isPlainObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function copyDefault(v: unknown): unknown {
  return Array.isArray(v) ? v.map(copyDefault) : isPlainObject(v) ? { ...v } : v;
}

/** Per-record plan, computed once per definition record: fill runs on every plugin construction. */
interface Slot {
  key: string;
  field: Field;
  fallback: unknown;
  hasFallback: boolean;
}
interface Plan {
  slots: Slot[];
  keys: Set<string>;
}
const plans = new WeakMap<RecordField, Plan>();

function planOf(def: RecordField): Plan {
  let plan = plans.get(def);
  if (!plan) {
    const slots = Object.entries(def.fields).map(([key, field]) => {
      const hasDefault = 'default' in field && field.default !== undefined;
      return { key, field, fallback: hasDefault ? field.default : undefined, hasFallback: hasDefault };
    });
    plan = { slots, keys: new Set(Object.keys(def.fields)) };
    plans.set(def, plan);
  }
  return plan;
}

function fillSlot(slot: Slot, value: unknown): unknown {
  const field = slot.field;
  if (value === undefined || value === null) {
    if (slot.hasFallback) return copyDefault(slot.fallback);
    if (field.type === 'record' && field.autofill) return fillRecord(field, {});
    return null;
  }
  if (field.type === 'record') return isPlainObject(value) ? fillRecord(field, value) : value;
  if (field.type === 'array' && field.elements.type === 'record' && Array.isArray(value)) {
    const el = field.elements;
    return value.map((v) => (isPlainObject(v) ? fillRecord(el, v) : v));
  }
  return value;
}

export function fillRecord(def: RecordField, input: Obj): Obj {
  const value = def.shorthand_fields ? expandShorthands(def, input) : input;
  const plan = planOf(def);
  const out: Obj = {};
  for (const slot of plan.slots) out[slot.key] = fillSlot(slot, value[slot.key]);
  // Unknown keys are carried over so the JSON Schema step reports them as unknown fields.
  for (const key of Object.keys(value)) {
    if (plan.keys.has(key)) continue;
    // defineProperty: a JSON `"__proto__"` key must stay a plain (unknown) field, not replace the prototype.
    Object.defineProperty(out, key, { value: value[key], enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** The record a missing `autofill` record becomes; also the `default` Kong gets for it. */
export function recordDefaults(def: RecordField): Obj {
  const out: Obj = {};
  for (const [key, field] of Object.entries(def.fields)) {
    if ('default' in field && field.default !== undefined) out[key] = copyDefault(field.default);
    else if (field.type === 'record' && field.autofill) out[key] = recordDefaults(field);
  }
  return out;
}

/**
 * Kong 3.8/3.9 shorthand keys of `vectordb.redis`: translated into the real fields (the real field wins when
 * both are given) and removed. A value of the wrong shape is left in place for the JSON Schema to report.
 */
function expandShorthands(def: RecordField, input: Obj): Obj {
  const shorthands = def.shorthand_fields ?? {};
  let out: Obj | undefined;
  for (const [key, sh] of Object.entries(shorthands)) {
    const v = input[key];
    if (v === undefined || v === null) continue;
    const translated = translateShorthand(sh, v);
    if (!translated) continue;
    out ??= { ...input };
    delete out[key];
    for (const [k, tv] of Object.entries(translated)) {
      if (out[k] === undefined || out[k] === null) out[k] = tv;
    }
  }
  return out ?? input;
}

function translateShorthand(sh: Shorthand, v: unknown): Obj | undefined {
  switch (sh.translate) {
    case 'all_timeouts':
      return Number.isInteger(v) ? { connect_timeout: v, send_timeout: v, read_timeout: v } : undefined;
    case 'sentinel_nodes':
    case 'cluster_nodes': {
      if (!Array.isArray(v) || v.length === 0 || !v.every((a) => typeof a === 'string')) return undefined;
      const hostKey = sh.translate === 'sentinel_nodes' ? 'host' : 'ip';
      const nodes = (v as string[]).map((addr) => {
        const m = /^(.+):(\d+)$/.exec(addr);
        // Without ":port" the node keeps the record's default port (6379).
        return m ? { [hostKey]: m[1], port: Number(m[2]) } : { [hostKey]: addr };
      });
      return { [sh.translate]: nodes };
    }
  }
}
